// A test oracle: the chunk a workload's part of a request makes, built on protobuf-es messages.
// Pilotlight cuts chunks on the wire (wire/chunk.ts: the store, the gateway's reshaping); its
// tests compare the two. Nothing in Pilotlight's own code imports this module.
import { clone, create } from '@bufbuild/protobuf';
import {
  ExportProfilesServiceRequestSchema,
  KeyValueAndUnitSchema,
  ProfilesDictionarySchema,
  ResourceProfilesSchema,
  type AnyValue,
  type ExportProfilesServiceRequest,
  type KeyValue,
  type ProfilesDictionary,
  type ResourceProfiles,
} from './messages.js';

/**
 * A self-contained request holding only the given resource profiles and only the dictionary
 * entries they use, every index renumbered. The profile store keeps one such request per
 * workload per export ("a chunk"), so its byte cap measures what is really held.
 * The input must be validated (indices in range).
 */
export function subsetRequest(req: ExportProfilesServiceRequest, resourceProfiles: readonly ResourceProfiles[]): ExportProfilesServiceRequest {
  const src = req.dictionary ?? create(ProfilesDictionarySchema);
  const dst = create(ProfilesDictionarySchema);
  const remap = (srcTable: unknown[], dstTable: unknown[], copy: (i: number) => unknown): Remap => {
    const map = new Map<number, number>();
    // Entry 0 is copied (and its own references renumbered) before any other entry.
    const zero = (): void => {
      if (dstTable.length === 0 && srcTable.length > 0) dstTable.push(copy(0));
    };
    const get = (i: number): number => {
      if (i === 0 || i >= srcTable.length) return 0;
      let j = map.get(i);
      if (j === undefined) {
        zero();
        // Reserve the slot before copying: copying may remap nested indices first.
        j = dstTable.push(undefined) - 1;
        map.set(i, j);
        dstTable[j] = copy(i);
      }
      return j;
    };
    return Object.assign(get, { zero });
  };

  const str = remap(src.stringTable, dst.stringTable, (i) => src.stringTable[i] ?? '');
  const fixAny = (v: AnyValue | undefined): void => {
    if (!v) return;
    const x = v.value;
    if (x.case === 'stringValueStrindex') x.value = str(x.value);
    else if (x.case === 'arrayValue') x.value.values.forEach(fixAny);
    else if (x.case === 'kvlistValue') x.value.values.forEach(fixKv);
  };
  const fixKv = (kv: KeyValue): void => {
    if (kv.keyStrindex !== 0) kv.keyStrindex = str(kv.keyStrindex);
    fixAny(kv.value);
  };
  const attr = remap(src.attributeTable, dst.attributeTable, (i) => {
    const a = clone(KeyValueAndUnitSchema, src.attributeTable[i]);
    a.keyStrindex = str(a.keyStrindex);
    a.unitStrindex = str(a.unitStrindex);
    fixAny(a.value);
    return a;
  });
  const mapping = remap(src.mappingTable, dst.mappingTable, (i) => {
    const m = { ...src.mappingTable[i] };
    m.filenameStrindex = str(m.filenameStrindex);
    m.attributeIndices = m.attributeIndices.map(attr);
    return m;
  });
  const fn = remap(src.functionTable, dst.functionTable, (i) => {
    const f = { ...src.functionTable[i] };
    f.nameStrindex = str(f.nameStrindex);
    f.systemNameStrindex = str(f.systemNameStrindex);
    f.filenameStrindex = str(f.filenameStrindex);
    return f;
  });
  const loc = remap(src.locationTable, dst.locationTable, (i) => {
    const l = { ...src.locationTable[i] };
    l.mappingIndex = mapping(l.mappingIndex);
    l.lines = l.lines.map((line) => ({ ...line, functionIndex: fn(line.functionIndex) }));
    l.attributeIndices = l.attributeIndices.map(attr);
    return l;
  });
  const stack = remap(src.stackTable, dst.stackTable, (i) => ({ ...src.stackTable[i], locationIndices: src.stackTable[i].locationIndices.map(loc) }));
  const link = remap(src.linkTable, dst.linkTable, (i) => src.linkTable[i]);

  const out: ResourceProfiles[] = resourceProfiles.map((rp) => {
    const c = clone(ResourceProfilesSchema, rp);
    c.resource?.attributes.forEach(fixKv);
    for (const sp of c.scopeProfiles) {
      sp.scope?.attributes.forEach(fixKv);
      for (const p of sp.profiles) {
        if (p.sampleType) {
          p.sampleType.typeStrindex = str(p.sampleType.typeStrindex);
          p.sampleType.unitStrindex = str(p.sampleType.unitStrindex);
        }
        if (p.periodType) {
          p.periodType.typeStrindex = str(p.periodType.typeStrindex);
          p.periodType.unitStrindex = str(p.periodType.unitStrindex);
        }
        p.attributeIndices = p.attributeIndices.map(attr);
        for (const s of p.samples) {
          s.stackIndex = stack(s.stackIndex);
          s.linkIndex = link(s.linkIndex);
          s.attributeIndices = s.attributeIndices.map(attr);
        }
      }
    }
    return c;
  });
  // Index 0 is referenced too (a sample's stack_index 0 is stack_table[0]), so every table's
  // entry 0 comes along even when nothing else of it is used — with its references renumbered:
  // copied verbatim, a sender's non-empty entry 0 pointed past the chunk's smaller tables and
  // made the stored chunk invalid. Referrers first, so what they pull in is already there.
  for (const table of [stack, link, loc, mapping, fn, attr, str]) table.zero();
  ensureZeroEntries(dst);
  return create(ExportProfilesServiceRequestSchema, { resourceProfiles: out, dictionary: dst });
}

type Remap = ((i: number) => number) & { zero: () => void };

/** Tables the sender left empty get the spec's zero entry at index 0. */
function ensureZeroEntries(dst: ProfilesDictionary): void {
  const zero = create(ProfilesDictionarySchema, {
    mappingTable: [{}],
    locationTable: [{}],
    functionTable: [{}],
    linkTable: [{ traceId: new Uint8Array(16), spanId: new Uint8Array(8) }],
    stringTable: [''],
    attributeTable: [{}],
    stackTable: [{}],
  });
  const tables = ['mappingTable', 'locationTable', 'functionTable', 'linkTable', 'stringTable', 'attributeTable', 'stackTable'] as const;
  for (const t of tables) {
    const d = dst[t] as unknown[];
    if (d.length === 0) d.push((zero[t] as unknown[])[0]);
  }
}
