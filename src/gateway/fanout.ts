import { errorText } from '../otlp/codec.js';
import { batchStats, type ConsumeResult, type ProfilesBatch, type ProfilesConsumer } from '../pipeline/consumer.js';

export interface Branch {
  name: string;
  consumer: ProfilesConsumer;
}

/**
 * Hands every request to every branch (as the Collector's fanoutconsumer). Branches only read
 * the batch, so all share it; only a branch that reshapes requests for its destination makes
 * its own copy. Each exporter queues and returns at once, so a slow branch never holds up the
 * others.
 *
 * Results combine so the sender hears the truth without duplicating data:
 * - no branch kept any of it (all failed, or all dropped it, e.g. every queue full): the
 *   request is refused with a retryable error, because a retry duplicates nothing;
 * - some branch kept it: the answer is a success, partial when another branch did not keep
 *   all of it, naming that branch, because a retry would send the same data again to the
 *   branches that have it. `rejected_profiles` is the most any one branch lost.
 */
export class FanoutConsumer implements ProfilesConsumer {
  constructor(readonly branches: Branch[]) {
    if (branches.length === 0) throw new Error('fan-out needs at least one branch');
  }

  async consume(batch: ProfilesBatch): Promise<ConsumeResult> {
    const settled = await Promise.allSettled(this.branches.map((b) => b.consumer.consume(batch)));
    let profiles: number | undefined;
    const all = (): number => (profiles ??= batchStats(batch).profiles);
    let kept = false;
    let rejected = 0;
    const messages: string[] = [];
    settled.forEach((s, i) => {
      const name = this.branches[i].name;
      if (s.status === 'rejected') {
        rejected = all();
        messages.push(`${name}: ${errorText(s.reason)}`);
        return;
      }
      const { rejectedProfiles, errorMessage } = s.value;
      // A branch keeps something unless it rejected every profile (an empty request counts as kept).
      if (rejectedProfiles === 0 || rejectedProfiles < all()) kept = true;
      rejected = Math.max(rejected, rejectedProfiles);
      if (errorMessage) messages.push(errorMessage.startsWith(`exporter "${name}"`) ? errorMessage : `${name}: ${errorMessage}`);
    });
    if (!kept) throw new Error(`no destination took the request: ${messages.join('; ')}`);
    return { rejectedProfiles: rejected, errorMessage: messages.join('; ') };
  }
}
