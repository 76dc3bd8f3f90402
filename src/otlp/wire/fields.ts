import { ExportProfilesServiceRequestSchema } from '../gen/opentelemetry/proto/collector/profiles/v1development/profiles_service_pb.js';
import {
  AnyValueSchema,
  ArrayValueSchema,
  EntityRefSchema,
  InstrumentationScopeSchema,
  KeyValueListSchema,
  KeyValueSchema,
} from '../gen/opentelemetry/proto/common/v1/common_pb.js';
import {
  FunctionSchema,
  KeyValueAndUnitSchema,
  LineSchema,
  LinkSchema,
  LocationSchema,
  MappingSchema,
  ProfileSchema,
  ProfilesDictionarySchema,
  ResourceProfilesSchema,
  SampleSchema,
  ScopeProfilesSchema,
  StackSchema,
  ValueTypeSchema,
} from '../gen/opentelemetry/proto/profiles/v1development/profiles_pb.js';
import { ResourceSchema } from '../gen/opentelemetry/proto/resource/v1/resource_pb.js';

/**
 * Field numbers of every message the wire reader, validator, chunker and writer handle, read
 * from the generated protobuf-es descriptors once, when this module loads: a field renumbered
 * in `proto/` reaches the wire code through `npm run gen`, with no literal to update by hand.
 * Each is a frozen object of plain numbers (`PROFILE.samples`), which the hot loops read like
 * literals.
 */
function numbers<K extends string>(fields: Record<K, { readonly number: number }>): Readonly<Record<K, number>> {
  const out = {} as Record<K, number>;
  for (const name of Object.keys(fields) as K[]) out[name] = fields[name].number;
  return Object.freeze(out);
}

export const REQUEST = numbers(ExportProfilesServiceRequestSchema.field);
export const RESOURCE_PROFILES = numbers(ResourceProfilesSchema.field);
export const SCOPE_PROFILES = numbers(ScopeProfilesSchema.field);
export const PROFILE = numbers(ProfileSchema.field);
export const VALUE_TYPE = numbers(ValueTypeSchema.field);
export const SAMPLE = numbers(SampleSchema.field);
export const DICTIONARY = numbers(ProfilesDictionarySchema.field);
export const MAPPING = numbers(MappingSchema.field);
export const LOCATION = numbers(LocationSchema.field);
export const LINE = numbers(LineSchema.field);
export const FUNCTION = numbers(FunctionSchema.field);
export const LINK = numbers(LinkSchema.field);
export const STACK = numbers(StackSchema.field);
export const KEY_VALUE_AND_UNIT = numbers(KeyValueAndUnitSchema.field);
export const RESOURCE = numbers(ResourceSchema.field);
export const SCOPE = numbers(InstrumentationScopeSchema.field);
export const ENTITY_REF = numbers(EntityRefSchema.field);
export const KEY_VALUE = numbers(KeyValueSchema.field);
export const ANY_VALUE = numbers(AnyValueSchema.field);
export const ARRAY_VALUE = numbers(ArrayValueSchema.field);
export const KEY_VALUE_LIST = numbers(KeyValueListSchema.field);

/** Wire types (protobuf encoding), for tags built by hand. */
export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;
export const FIXED32 = 5;
