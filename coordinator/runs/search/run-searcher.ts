import type { RunView } from '../../../shared/run-model.js';
import type { RedisStudyStore } from '../../store/study-store.js';
import type { RunSearch } from '../run-store-contract.js';
import type { RedisRunStore } from '../redis-run-store.js';

export class RunSearcher {
  constructor(private readonly studies: RedisStudyStore, private readonly runs: RedisRunStore) {}
  async search(_q: RunSearch): Promise<{ runs: RunView[]; nextPageToken: string | null }> {
    void this.studies; void this.runs;
    return { runs: [], nextPageToken: null };
  }
}
