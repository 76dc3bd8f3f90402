import { create } from '@bufbuild/protobuf';
import {
  AnyValueSchema,
  ExportProfilesServiceRequestSchema,
  FunctionSchema,
  KeyValueAndUnitSchema,
  KeyValueSchema,
  LineSchema,
  LinkSchema,
  LocationSchema,
  MappingSchema,
  ProfileSchema,
  ProfilesDictionarySchema,
  ResourceProfilesSchema,
  ResourceSchema,
  SampleSchema,
  ScopeProfilesSchema,
  StackSchema,
  ValueTypeSchema,
  InstrumentationScopeSchema,
  type AnyValue,
  type ExportProfilesServiceRequest,
  type Profile,
  type ProfilesDictionary,
  type ResourceProfiles,
  type ScopeProfiles,
} from './messages.js';

export type { FrameSpec, SimpleValue } from './frame.js';
import { frameLines, linesKey, type FrameSpec, type SimpleValue } from './frame.js';

export interface ProfileOptions {
  /** `period`, in the period type's unit (nanoseconds for CPU); 0 for a profile without one. */
  periodNanos: number;
  timeUnixNano?: bigint;
  durationNano?: bigint;
  /** [type, unit]; default ['samples', 'count']. */
  sampleType?: [string, string];
  /** [type, unit]; default ['cpu', 'nanoseconds']; null: no period type (an off-CPU profile). */
  periodType?: [string, string] | null;
  scope?: { name: string; version?: string };
  /**
   * Put the profile in the resource's ScopeProfiles of the same scope when there is one, as
   * senders of several sample types do (each type its own Profile, in one scope); by default
   * every profile gets a ScopeProfiles of its own.
   */
  shareScope?: boolean;
}

/**
 * Builds an ExportProfilesServiceRequest with one shared, deduplicated dictionary, following
 * the conventions in otlp-profiles-wire.md (zero entries at index 0 of every table, one
 * ResourceProfiles per distinct resource, CPU profile units by default).
 */
export class RequestBuilder {
  readonly dictionary: ProfilesDictionary;
  private readonly strings = new Map<string, number>();
  private readonly functions = new Map<string, number>();
  private readonly mappings = new Map<string, number>();
  private readonly locations = new Map<string, number>();
  private readonly stacks = new Map<string, number>();
  private readonly attributes = new Map<string, number>();
  private readonly resources = new Map<string, { rp: ResourceProfiles; profiles: Map<string, Profile>; scopes: Map<string, ScopeProfiles> }>();
  private readonly order: ResourceProfiles[] = [];

  constructor() {
    this.dictionary = create(ProfilesDictionarySchema, {
      mappingTable: [create(MappingSchema)],
      locationTable: [create(LocationSchema)],
      functionTable: [create(FunctionSchema)],
      linkTable: [create(LinkSchema, { traceId: new Uint8Array(16), spanId: new Uint8Array(8) })],
      stringTable: [''],
      attributeTable: [create(KeyValueAndUnitSchema)],
      stackTable: [create(StackSchema)],
    });
    this.strings.set('', 0);
  }

  string(s: string): number {
    let i = this.strings.get(s);
    if (i === undefined) {
      i = this.dictionary.stringTable.push(s) - 1;
      this.strings.set(s, i);
    }
    return i;
  }

  attribute(key: string, value: SimpleValue, unit = ''): number {
    const id = `${key}\0${typeof value}\0${value}\0${unit}`;
    let i = this.attributes.get(id);
    if (i === undefined) {
      i =
        this.dictionary.attributeTable.push(
          create(KeyValueAndUnitSchema, { keyStrindex: this.string(key), value: simpleValue(value), unitStrindex: this.string(unit) }),
        ) - 1;
      this.attributes.set(id, i);
    }
    return i;
  }

  function(name: string, file = '', systemName = ''): number {
    const id = `${name}\0${file}\0${systemName}`;
    let i = this.functions.get(id);
    if (i === undefined) {
      i =
        this.dictionary.functionTable.push(
          create(FunctionSchema, {
            nameStrindex: this.string(name),
            systemNameStrindex: this.string(systemName),
            filenameStrindex: this.string(file),
          }),
        ) - 1;
      this.functions.set(id, i);
    }
    return i;
  }

  mapping(file: string, memoryStart = 0n, memoryLimit = 0n, fileOffset = 0n, attributes: Record<string, SimpleValue> = {}): number {
    const id = `${file}\0${memoryStart}\0${memoryLimit}\0${fileOffset}\0${JSON.stringify(attributes)}`;
    let i = this.mappings.get(id);
    if (i === undefined) {
      i =
        this.dictionary.mappingTable.push(
          create(MappingSchema, {
            filenameStrindex: this.string(file),
            memoryStart,
            memoryLimit,
            fileOffset,
            attributeIndices: Object.entries(attributes).map(([k, v]) => this.attribute(k, v)),
          }),
        ) - 1;
      this.mappings.set(id, i);
    }
    return i;
  }

  /** A location for a frame; with no mapping given, one is made from `binary` (start 0). */
  location(frame: FrameSpec, mappingIndex?: number): number {
    const mapping = mappingIndex ?? (frame.binary ? this.mapping(frame.binary) : 0);
    const lines = frameLines(frame);
    const id = `${mapping}\0${frame.address ?? 0n}\0${frame.kind ?? ''}\0${linesKey(lines)}`;
    let i = this.locations.get(id);
    if (i === undefined) {
      i =
        this.dictionary.locationTable.push(
          create(LocationSchema, {
            mappingIndex: mapping,
            address: frame.address ?? 0n,
            lines: lines.map((l) => create(LineSchema, { functionIndex: this.function(l.name, l.file ?? ''), line: BigInt(l.line ?? 0) })),
            attributeIndices: frame.kind ? [this.attribute('profile.frame.type', frame.kind)] : [],
          }),
        ) - 1;
      this.locations.set(id, i);
    }
    return i;
  }

  /** A stack from location indices, leaf first. */
  stack(locationIndices: number[]): number {
    const id = locationIndices.join(',');
    let i = this.stacks.get(id);
    if (i === undefined) {
      i = this.dictionary.stackTable.push(create(StackSchema, { locationIndices })) - 1;
      this.stacks.set(id, i);
    }
    return i;
  }

  /** A stack from frames given root first (the order folded stacks are written in). */
  stackOfFrames(rootFirst: FrameSpec[]): number {
    const locs: number[] = [];
    for (let i = rootFirst.length - 1; i >= 0; i--) locs.push(this.location(rootFirst[i]));
    return this.stack(locs);
  }

  /** The profile for a resource (created on first use); samples are appended with addSample. */
  profile(resource: Record<string, SimpleValue>, opts: ProfileOptions): Profile {
    const resourceId = JSON.stringify(Object.entries(resource).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let entry = this.resources.get(resourceId);
    if (!entry) {
      const rp = create(ResourceProfilesSchema, {
        resource: create(ResourceSchema, {
          attributes: Object.entries(resource).map(([key, value]) => create(KeyValueSchema, { key, value: simpleValue(value) })),
        }),
        scopeProfiles: [],
      });
      entry = { rp, profiles: new Map(), scopes: new Map() };
      this.resources.set(resourceId, entry);
      this.order.push(rp);
    }
    const [st, su] = opts.sampleType ?? ['samples', 'count'];
    const periodType = opts.periodType === undefined ? (['cpu', 'nanoseconds'] as [string, string]) : opts.periodType;
    const [pt, pu] = periodType ?? ['', ''];
    const scopeName = opts.scope?.name ?? 'pilotlight';
    const profileId = `${opts.scope?.name ?? ''}\0${st}\0${su}\0${periodType ? `${pt}\0${pu}` : '-'}\0${opts.periodNanos}\0${opts.timeUnixNano ?? 0n}`;
    let profile = entry.profiles.get(profileId);
    if (!profile) {
      profile = create(ProfileSchema, {
        sampleType: create(ValueTypeSchema, { typeStrindex: this.string(st), unitStrindex: this.string(su) }),
        periodType: periodType ? create(ValueTypeSchema, { typeStrindex: this.string(pt), unitStrindex: this.string(pu) }) : undefined,
        period: BigInt(Math.round(opts.periodNanos)),
        timeUnixNano: opts.timeUnixNano ?? 0n,
        durationNano: opts.durationNano ?? 0n,
        samples: [],
      });
      const shared = opts.shareScope ? entry.scopes.get(scopeName) : undefined;
      if (shared) {
        shared.profiles.push(profile);
      } else {
        const sp = create(ScopeProfilesSchema, {
          scope: create(InstrumentationScopeSchema, { name: scopeName, version: opts.scope?.version ?? '' }),
          profiles: [profile],
        });
        entry.rp.scopeProfiles.push(sp);
        if (!entry.scopes.has(scopeName)) entry.scopes.set(scopeName, sp);
      }
      entry.profiles.set(profileId, profile);
    }
    return profile;
  }

  /**
   * Appends a sample: `value` (one value, repeated for each timestamp when there are any), or
   * `values` (as given: paired with `timestamps` by index when both are given, as the
   * OpenTelemetry eBPF profiler's off-CPU samples are), or neither (timestamps only: one event
   * each).
   */
  addSample(
    profile: Profile,
    stackIndex: number,
    sample: { value?: number; values?: number[]; timestamps?: bigint[]; attributes?: Record<string, SimpleValue> },
  ): void {
    const timestamps = sample.timestamps ?? [];
    const values = sample.values ? sample.values.map((v) => BigInt(v)) : sample.value !== undefined ? [BigInt(sample.value)] : [];
    profile.samples.push(
      create(SampleSchema, {
        stackIndex,
        values: !sample.values && timestamps.length > 0 && values.length > 0 ? timestamps.map(() => values[0]) : values,
        timestampsUnixNano: timestamps,
        attributeIndices: Object.entries(sample.attributes ?? {}).map(([k, v]) => this.attribute(k, v)),
      }),
    );
  }

  build(): ExportProfilesServiceRequest {
    return create(ExportProfilesServiceRequestSchema, { resourceProfiles: this.order, dictionary: this.dictionary });
  }
}

export function simpleValue(value: SimpleValue): AnyValue {
  if (typeof value === 'string') return create(AnyValueSchema, { value: { case: 'stringValue', value } });
  if (typeof value === 'boolean') return create(AnyValueSchema, { value: { case: 'boolValue', value } });
  if (Number.isInteger(value)) return create(AnyValueSchema, { value: { case: 'intValue', value: BigInt(value) } });
  return create(AnyValueSchema, { value: { case: 'doubleValue', value } });
}
