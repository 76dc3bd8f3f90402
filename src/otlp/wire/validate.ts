import { OtlpValidationError } from '../errors.js';
import type { AnyValue, KeyValue } from '../messages.js';
import type { WireDictionary } from './dictionary.js';
import { toBigInt } from './reader.js';
import type { WireRequest } from './request.js';

type Table = 'mapping_table' | 'location_table' | 'function_table' | 'link_table' | 'string_table' | 'attribute_table' | 'stack_table';

/**
 * `validateRequest` for a WireRequest: the same checks in the same order, so the first error
 * and its message are the same. Paths are built only when a check fails.
 */
export function validateWire(req: WireRequest): void {
  const d = req.dictionary;
  if (!d) {
    const s = req.samples;
    const hasSamples = req.resourceProfiles.some((rp) => rp.scopes.some((sp) => sp.profiles.some((p) => p.sampleEnd > p.sampleStart)));
    if (hasSamples && s.count > 0) throw new OtlpValidationError('dictionary', 'missing, but the request has samples that refer to it');
    return;
  }
  const sizes: Record<Table, number> = {
    mapping_table: d.mappingCount,
    location_table: d.locationCount,
    function_table: d.functionCount,
    link_table: d.linkCount,
    string_table: d.stringCount,
    attribute_table: d.attributes.length,
    stack_table: d.stackCount,
  };
  const bad = (index: number, table: Table): boolean => index !== 0 && (index < 0 || index >= sizes[table]);
  const fail = (path: string, index: number, table: Table): never => {
    throw new OtlpValidationError(path, `${index} out of range (${table} has ${sizes[table]} entries)`);
  };
  const check = (path: () => string, index: number, table: Table): void => {
    if (bad(index, table)) fail(path(), index, table);
  };
  const checkRun = (path: () => string, list: Int32Array, start: number, count: number, table: Table): void => {
    for (let i = 0; i < count; i++) if (bad(list[start + i], table)) fail(`${path()}[${i}]`, list[start + i], table);
  };

  validateDictionary(d, check, checkRun);

  const s = req.samples;
  const nStacks = d.stackCount;
  const nLinks = d.linkCount;
  const nAttrs = d.attributes.length;
  req.resourceProfiles.forEach((rp, i) => {
    const rpPath = `resource_profiles[${i}]`;
    rp.resourceAttributes?.forEach((kv, a) => checkKeyValue(`${rpPath}.resource.attributes[${a}]`, kv, check));
    rp.scopes.forEach((sp, j) => {
      const spPath = `${rpPath}.scope_profiles[${j}]`;
      sp.scopeAttributes?.forEach((kv, a) => checkKeyValue(`${spPath}.scope.attributes[${a}]`, kv, check));
      sp.profiles.forEach((p, k) => {
        const pPath = (): string => `${spPath}.profiles[${k}]`;
        if (p.hasSampleType) {
          check(() => `${pPath()}.sample_type.type_strindex`, p.sampleTypeType, 'string_table');
          check(() => `${pPath()}.sample_type.unit_strindex`, p.sampleTypeUnit, 'string_table');
        }
        if (p.hasPeriodType) {
          check(() => `${pPath()}.period_type.type_strindex`, p.periodTypeType, 'string_table');
          check(() => `${pPath()}.period_type.unit_strindex`, p.periodTypeUnit, 'string_table');
        }
        if (p.period < 0) {
          throw new OtlpValidationError(`${pPath()}.period`, `must not be negative, got ${toBigInt(p.periodLo, p.periodHi, true)}`);
        }
        if (p.profileIdLength !== 0 && p.profileIdLength !== 16) {
          throw new OtlpValidationError(`${pPath()}.profile_id`, `must be empty or 16 bytes, got ${p.profileIdLength}`);
        }
        for (let a = 0; a < p.attributeIndices.length; a++) {
          if (bad(p.attributeIndices[a], 'attribute_table')) fail(`${pPath()}.attribute_indices[${a}]`, p.attributeIndices[a], 'attribute_table');
        }
        for (let row = p.sampleStart; row < p.sampleEnd; row++) {
          if (outside(s.stack.a[row], nStacks) || outside(s.link.a[row], nLinks) || badRun(s.attrs.a, s.attrStart.a[row], s.attrCount.a[row], nAttrs)) {
            sampleIndices(`${pPath()}.samples[${row - p.sampleStart}]`, s, row, check, checkRun);
          }
          const v0 = s.valueStart.a[row];
          const nv = s.valueCount.a[row];
          for (let v = 0; v < nv; v++) {
            if (s.values.a[v0 + v] < 0) {
              throw new OtlpValidationError(`${pPath()}.samples[${row - p.sampleStart}].values[${v}]`, `must not be negative, got ${s.negatives.get(v0 + v)}`);
            }
          }
          const ts = s.tsCount.a[row];
          if (nv > 0 && ts > 0 && nv !== ts) {
            throw new OtlpValidationError(
              `${pPath()}.samples[${row - p.sampleStart}].timestamps_unix_nano`,
              `has ${ts} entries but values has ${nv}; when both are present they pair by index`,
            );
          }
        }
      });
    });
  });
}

type Check = (path: () => string, index: number, table: Table) => void;
type CheckRun = (path: () => string, list: Int32Array, start: number, count: number, table: Table) => void;

function validateDictionary(d: WireDictionary, check: Check, checkRun: CheckRun): void {
  // The per-entry loops test inline and, only for an entry with a bad index, run the checks
  // that build the path and throw (`*Entry`): a path closure per entry (and the per-iteration
  // scope it needs) was most of what validating a request allocated.
  const nStrings = d.stringCount;
  const nAttrs = d.attributes.length;
  // The flat lists every entry's runs lie in (lines, attribute indices, stack frames) are
  // checked whole first, which is one tight loop each; the entries are walked only when a
  // list or column holds an index out of range, to name the first entry that has it.
  if (
    anyOutside(d.mapFilename.a, d.mappingCount, nStrings) ||
    anyOutside(d.mapAttrs.a, d.mapAttrs.n, nAttrs) ||
    anyOutside(d.locMapping.a, d.locationCount, d.mappingCount) ||
    anyOutside(d.locAttrs.a, d.locAttrs.n, nAttrs) ||
    anyOutside(d.lineFunction.a, d.lineFunction.n, d.functionCount) ||
    anyOutside(d.fnName.a, d.functionCount, nStrings) ||
    anyOutside(d.fnSystemName.a, d.functionCount, nStrings) ||
    anyOutside(d.fnFilename.a, d.functionCount, nStrings)
  ) {
    entryIndices(d, check, checkRun);
  }
  d.attributes.forEach((kvu, i) => {
    const path = `dictionary.attribute_table[${i}]`;
    check(() => `${path}.key_strindex`, kvu.keyStrindex, 'string_table');
    check(() => `${path}.unit_strindex`, kvu.unitStrindex, 'string_table');
    if (kvu.value) checkAnyValue(`${path}.value`, kvu.value, check);
  });
  if (anyOutside(d.stackLocs.a, d.stackLocs.n, d.locationCount)) stackIndices(d, checkRun);
  for (let i = 0; i < d.linkCount; i++) {
    const trace = d.linkTraceLen.a[i];
    const span = d.linkSpanLen.a[i];
    if (trace !== 0 && trace !== 16) {
      throw new OtlpValidationError(`dictionary.link_table[${i}].trace_id`, `must be empty or 16 bytes, got ${trace}`);
    }
    if (span !== 0 && span !== 8) throw new OtlpValidationError(`dictionary.link_table[${i}].span_id`, `must be empty or 8 bytes, got ${span}`);
  }
}

/** Whether one of `list[0, n)` is neither unset (0) nor inside a table of `size` entries. */
function anyOutside(list: Int32Array, n: number, size: number): boolean {
  for (let i = 0; i < n; i++) {
    const v = list[i];
    if (v !== 0 && (v < 0 || v >= size)) return true;
  }
  return false;
}

/** Mapping, location and function entries in order, once one of their indices is out of range: throws for the first. */
function entryIndices(d: WireDictionary, check: Check, checkRun: CheckRun): void {
  const nStrings = d.stringCount;
  const nAttrs = d.attributes.length;
  for (let i = 0; i < d.mappingCount; i++) {
    if (outside(d.mapFilename.a[i], nStrings) || badRun(d.mapAttrs.a, d.mapAttrStart.a[i], d.mapAttrCount.a[i], nAttrs)) mappingEntry(d, i, check, checkRun);
  }
  for (let i = 0; i < d.locationCount; i++) {
    let wrong = outside(d.locMapping.a[i], d.mappingCount) || badRun(d.locAttrs.a, d.locAttrStart.a[i], d.locAttrCount.a[i], nAttrs);
    const l0 = d.locLineStart.a[i];
    for (let l = l0; l < l0 + d.locLineCount.a[i]; l++) if (outside(d.lineFunction.a[l], d.functionCount)) wrong = true;
    if (wrong) locationEntry(d, i, check, checkRun);
  }
  for (let i = 0; i < d.functionCount; i++) {
    if (outside(d.fnName.a[i], nStrings) || outside(d.fnSystemName.a[i], nStrings) || outside(d.fnFilename.a[i], nStrings)) functionEntry(d, i, check);
  }
}

/** The stacks in order, once a frame is out of range: throws for the first stack that has one. */
function stackIndices(d: WireDictionary, checkRun: CheckRun): void {
  const locs = d.stackLocs.a;
  const nLocations = d.locationCount;
  for (let i = 0; i < d.stackCount; i++) {
    const s0 = d.stackStart.a[i];
    const n = d.stackLen.a[i];
    for (let j = 0; j < n; j++) {
      const loc = locs[s0 + j];
      if (loc !== 0 && (loc < 0 || loc >= nLocations)) checkRun(() => `dictionary.stack_table[${i}].location_indices`, locs, s0, n, 'location_table');
    }
  }
}

/** Whether `index` is neither unset (0) nor inside a table of `size` entries. */
function outside(index: number, size: number): boolean {
  return index !== 0 && (index < 0 || index >= size);
}

function badRun(list: Int32Array, start: number, count: number, size: number): boolean {
  for (let j = start; j < start + count; j++) if (outside(list[j], size)) return true;
  return false;
}

/** A sample's index checks, in order, once one of them failed: builds the path and throws. */
function sampleIndices(path: string, s: WireRequest['samples'], row: number, check: Check, checkRun: CheckRun): void {
  check(() => `${path}.stack_index`, s.stack.a[row], 'stack_table');
  check(() => `${path}.link_index`, s.link.a[row], 'link_table');
  checkRun(() => `${path}.attribute_indices`, s.attrs.a, s.attrStart.a[row], s.attrCount.a[row], 'attribute_table');
}

function mappingEntry(d: WireDictionary, i: number, check: Check, checkRun: CheckRun): void {
  check(() => `dictionary.mapping_table[${i}].filename_strindex`, d.mapFilename.a[i], 'string_table');
  checkRun(() => `dictionary.mapping_table[${i}].attribute_indices`, d.mapAttrs.a, d.mapAttrStart.a[i], d.mapAttrCount.a[i], 'attribute_table');
}

function locationEntry(d: WireDictionary, i: number, check: Check, checkRun: CheckRun): void {
  const path = `dictionary.location_table[${i}]`;
  check(() => `${path}.mapping_index`, d.locMapping.a[i], 'mapping_table');
  const l0 = d.locLineStart.a[i];
  for (let l = 0; l < d.locLineCount.a[i]; l++) check(() => `${path}.lines[${l}].function_index`, d.lineFunction.a[l0 + l], 'function_table');
  checkRun(() => `${path}.attribute_indices`, d.locAttrs.a, d.locAttrStart.a[i], d.locAttrCount.a[i], 'attribute_table');
}

function functionEntry(d: WireDictionary, i: number, check: Check): void {
  check(() => `dictionary.function_table[${i}].name_strindex`, d.fnName.a[i], 'string_table');
  check(() => `dictionary.function_table[${i}].system_name_strindex`, d.fnSystemName.a[i], 'string_table');
  check(() => `dictionary.function_table[${i}].filename_strindex`, d.fnFilename.a[i], 'string_table');
}

function checkKeyValue(path: string, kv: KeyValue, check: Check): void {
  check(() => `${path}.key_strindex`, kv.keyStrindex, 'string_table');
  if (kv.value) checkAnyValue(`${path}.value`, kv.value, check);
}

function checkAnyValue(path: string, value: AnyValue, check: Check, depth = 0): void {
  if (depth > 32) throw new OtlpValidationError(path, 'nested more than 32 levels deep');
  const v = value.value;
  switch (v.case) {
    case 'stringValueStrindex':
      check(() => `${path}.string_value_strindex`, v.value, 'string_table');
      break;
    case 'arrayValue':
      v.value.values.forEach((item, i) => checkAnyValue(`${path}.array_value.values[${i}]`, item, check, depth + 1));
      break;
    case 'kvlistValue':
      v.value.values.forEach((kv, i) => {
        check(() => `${path}.kvlist_value.values[${i}].key_strindex`, kv.keyStrindex, 'string_table');
        if (kv.value) checkAnyValue(`${path}.kvlist_value.values[${i}].value`, kv.value, check, depth + 1);
      });
      break;
    default:
      break;
  }
}
