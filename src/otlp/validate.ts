// Validation of a request decoded to protobuf-es messages, for `decodeRequest` (codec.ts): the
// messages a consumer builds from bytes already read (`batch.request`), and tests. Requests
// coming in are validated on the wire (wire/validate.ts, the same checks and messages); the
// fuzz harness holds the two to each other.
import { OtlpValidationError } from './errors.js';
import type { AnyValue, ExportProfilesServiceRequest, KeyValue, ProfilesDictionary } from './messages.js';

/**
 * Range-checks every dictionary reference in a request before anything uses it, so the code
 * downstream can index tables without checks. Index 0 means "unset" and is accepted even when a
 * table is empty (a sender that omits a whole table references nothing in it).
 * Throws OtlpValidationError naming the first offending field; never returns a partial verdict.
 */
export function validateRequest(req: ExportProfilesServiceRequest): void {
  const dict = req.dictionary;
  const hasSamples = req.resourceProfiles.some((rp) => rp.scopeProfiles.some((sp) => sp.profiles.some((p) => p.samples.length > 0)));
  if (!dict) {
    if (hasSamples) throw new OtlpValidationError('dictionary', 'missing, but the request has samples that refer to it');
    return;
  }
  const sizes = {
    mapping_table: dict.mappingTable.length,
    location_table: dict.locationTable.length,
    function_table: dict.functionTable.length,
    link_table: dict.linkTable.length,
    string_table: dict.stringTable.length,
    attribute_table: dict.attributeTable.length,
    stack_table: dict.stackTable.length,
  };
  type Table = keyof typeof sizes;
  const check = (path: string, index: number, table: Table): void => {
    if (index === 0) return;
    if (index < 0 || index >= sizes[table]) {
      throw new OtlpValidationError(path, `${index} out of range (${table} has ${sizes[table]} entries)`);
    }
  };
  const checkAll = (path: string, indices: number[], table: Table): void => {
    for (let i = 0; i < indices.length; i++) check(`${path}[${i}]`, indices[i], table);
  };

  validateDictionary(dict, check, checkAll);

  req.resourceProfiles.forEach((rp, i) => {
    const rpPath = `resource_profiles[${i}]`;
    rp.resource?.attributes.forEach((kv, a) => checkKeyValue(`${rpPath}.resource.attributes[${a}]`, kv, check));
    rp.scopeProfiles.forEach((sp, j) => {
      const spPath = `${rpPath}.scope_profiles[${j}]`;
      sp.scope?.attributes.forEach((kv, a) => checkKeyValue(`${spPath}.scope.attributes[${a}]`, kv, check));
      sp.profiles.forEach((p, k) => {
        const pPath = `${spPath}.profiles[${k}]`;
        if (p.sampleType) {
          check(`${pPath}.sample_type.type_strindex`, p.sampleType.typeStrindex, 'string_table');
          check(`${pPath}.sample_type.unit_strindex`, p.sampleType.unitStrindex, 'string_table');
        }
        if (p.periodType) {
          check(`${pPath}.period_type.type_strindex`, p.periodType.typeStrindex, 'string_table');
          check(`${pPath}.period_type.unit_strindex`, p.periodType.unitStrindex, 'string_table');
        }
        if (p.period < 0n) throw new OtlpValidationError(`${pPath}.period`, `must not be negative, got ${p.period}`);
        if (p.profileId.length !== 0 && p.profileId.length !== 16) {
          throw new OtlpValidationError(`${pPath}.profile_id`, `must be empty or 16 bytes, got ${p.profileId.length}`);
        }
        checkAll(`${pPath}.attribute_indices`, p.attributeIndices, 'attribute_table');
        for (let s = 0; s < p.samples.length; s++) {
          const sample = p.samples[s];
          const sPath = `${pPath}.samples[${s}]`;
          check(`${sPath}.stack_index`, sample.stackIndex, 'stack_table');
          check(`${sPath}.link_index`, sample.linkIndex, 'link_table');
          checkAll(`${sPath}.attribute_indices`, sample.attributeIndices, 'attribute_table');
          const values = sample.values;
          for (let v = 0; v < values.length; v++) {
            if (values[v] < 0n) throw new OtlpValidationError(`${sPath}.values[${v}]`, `must not be negative, got ${values[v]}`);
          }
          const ts = sample.timestampsUnixNano.length;
          if (values.length > 0 && ts > 0 && values.length !== ts) {
            throw new OtlpValidationError(
              `${sPath}.timestamps_unix_nano`,
              `has ${ts} entries but values has ${values.length}; when both are present they pair by index`,
            );
          }
        }
      });
    });
  });
}

type Check = (
  path: string,
  index: number,
  table: 'mapping_table' | 'location_table' | 'function_table' | 'link_table' | 'string_table' | 'attribute_table' | 'stack_table',
) => void;
type CheckAll = (path: string, indices: number[], table: Parameters<Check>[2]) => void;

function validateDictionary(dict: ProfilesDictionary, check: Check, checkAll: CheckAll): void {
  dict.mappingTable.forEach((m, i) => {
    check(`dictionary.mapping_table[${i}].filename_strindex`, m.filenameStrindex, 'string_table');
    checkAll(`dictionary.mapping_table[${i}].attribute_indices`, m.attributeIndices, 'attribute_table');
  });
  dict.locationTable.forEach((loc, i) => {
    const path = `dictionary.location_table[${i}]`;
    check(`${path}.mapping_index`, loc.mappingIndex, 'mapping_table');
    loc.lines.forEach((line, l) => check(`${path}.lines[${l}].function_index`, line.functionIndex, 'function_table'));
    checkAll(`${path}.attribute_indices`, loc.attributeIndices, 'attribute_table');
  });
  dict.functionTable.forEach((f, i) => {
    const path = `dictionary.function_table[${i}]`;
    check(`${path}.name_strindex`, f.nameStrindex, 'string_table');
    check(`${path}.system_name_strindex`, f.systemNameStrindex, 'string_table');
    check(`${path}.filename_strindex`, f.filenameStrindex, 'string_table');
  });
  dict.attributeTable.forEach((kvu, i) => {
    const path = `dictionary.attribute_table[${i}]`;
    check(`${path}.key_strindex`, kvu.keyStrindex, 'string_table');
    check(`${path}.unit_strindex`, kvu.unitStrindex, 'string_table');
    if (kvu.value) checkAnyValue(`${path}.value`, kvu.value, check);
  });
  dict.stackTable.forEach((st, i) => {
    checkAll(`dictionary.stack_table[${i}].location_indices`, st.locationIndices, 'location_table');
  });
  dict.linkTable.forEach((link, i) => {
    const path = `dictionary.link_table[${i}]`;
    if (link.traceId.length !== 0 && link.traceId.length !== 16) {
      throw new OtlpValidationError(`${path}.trace_id`, `must be empty or 16 bytes, got ${link.traceId.length}`);
    }
    if (link.spanId.length !== 0 && link.spanId.length !== 8) {
      throw new OtlpValidationError(`${path}.span_id`, `must be empty or 8 bytes, got ${link.spanId.length}`);
    }
  });
}

function checkKeyValue(path: string, kv: KeyValue, check: Check): void {
  check(`${path}.key_strindex`, kv.keyStrindex, 'string_table');
  if (kv.value) checkAnyValue(`${path}.value`, kv.value, check);
}

function checkAnyValue(path: string, value: AnyValue, check: Check, depth = 0): void {
  if (depth > 32) throw new OtlpValidationError(path, 'nested more than 32 levels deep');
  const v = value.value;
  switch (v.case) {
    case 'stringValueStrindex':
      check(`${path}.string_value_strindex`, v.value, 'string_table');
      break;
    case 'arrayValue':
      v.value.values.forEach((item, i) => checkAnyValue(`${path}.array_value.values[${i}]`, item, check, depth + 1));
      break;
    case 'kvlistValue':
      v.value.values.forEach((kv, i) => {
        check(`${path}.kvlist_value.values[${i}].key_strindex`, kv.keyStrindex, 'string_table');
        if (kv.value) checkAnyValue(`${path}.kvlist_value.values[${i}].value`, kv.value, check, depth + 1);
      });
      break;
    default:
      break;
  }
}
