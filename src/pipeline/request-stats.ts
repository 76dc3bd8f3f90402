import type { ExportProfilesServiceRequest } from '../otlp/messages.js';

export interface RequestStats {
  profiles: number;
  samples: number;
}

/** Counts for metrics and drop logs; cheap (no dictionary walk). */
export function requestStats(req: ExportProfilesServiceRequest): RequestStats {
  let profiles = 0;
  let samples = 0;
  for (const rp of req.resourceProfiles) {
    for (const sp of rp.scopeProfiles) {
      profiles += sp.profiles.length;
      for (const p of sp.profiles) samples += p.samples.length;
    }
  }
  return { profiles, samples };
}
