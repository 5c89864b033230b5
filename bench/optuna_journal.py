#!/usr/bin/python3
"""Optuna on its Redis journal storage, for bench/load/ask-tell.ts to compare ask/tell against.

Usage: REDIS_URL=redis://... /usr/bin/python3 bench/optuna_journal.py <tpe|random> <processes> <trials>
One study on JournalStorage(JournalRedisStorage(REDIS_URL)); <processes> worker processes
(multiprocessing) run study.optimize on it with the objective x**2 over x in [-10, 10] until
<trials> trials are complete in the study (a MaxTrialsCallback shared by all of them), so the
trial count is the same as ours whatever the number of processes. Prints one JSON line with
completed trials/s over the wall time from the first worker's start to the last one's end.
The journal's keys (a prefix of this run's own) are deleted afterwards.
"""
import json
import multiprocessing
import os
import sys
import time
import uuid
import warnings

REDIS_URL = os.environ.get("REDIS_URL")


# A journal of its own per run: Optuna replays the whole journal, so old runs' logs would slow it.
PREFIX = f"bench-journal-{uuid.uuid4().hex[:12]}"


def storage():
    import optuna
    return optuna.storages.JournalStorage(optuna.storages.JournalRedisStorage(REDIS_URL, prefix=PREFIX))


def delete_journal():
    import redis
    r = redis.Redis.from_url(REDIS_URL)
    batch = []
    for key in r.scan_iter(match=f"{PREFIX}:*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            r.delete(*batch)
            batch = []
    if batch:
        r.delete(*batch)


def sampler_of(name, seed):
    import optuna
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise SystemExit(f"unknown sampler {name!r} (tpe or random)")


def worker(study_name, sampler, trials, seed, out):
    warnings.filterwarnings("ignore")
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=study_name, storage=storage(), sampler=sampler_of(sampler, seed))
    t0 = time.time()
    # Each worker stops once the study holds `trials` finished trials; a hard bound on wall time too.
    study.optimize(lambda t: t.suggest_float("x", -10, 10) ** 2, n_trials=trials, timeout=300,
                   callbacks=[MaxTrialsCallback(trials, states=(TrialState.COMPLETE,))])
    out.put({"start": t0, "end": time.time()})


def main():
    if len(sys.argv) != 4 or not REDIS_URL:
        raise SystemExit(__doc__)
    sampler, procs, trials = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if procs < 1 or trials < 1:
        raise SystemExit("processes and trials must be positive")
    warnings.filterwarnings("ignore")
    import optuna
    from optuna.trial import TrialState
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name = f"bench-journal-{sampler}-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=name, storage=storage())
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    ps = [ctx.Process(target=worker, args=(name, sampler, trials, i, out)) for i in range(procs)]
    for p in ps:
        p.start()
    spans = [out.get(timeout=400) for _ in ps]
    for p in ps:
        p.join(timeout=30)
    st = storage()
    done = len(optuna.load_study(study_name=name, storage=st).get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    wall = max(s["end"] for s in spans) - min(s["start"] for s in spans)
    delete_journal()
    print(json.dumps({"sampler": sampler, "procs": procs, "trials": done, "wall_s": round(wall, 3),
                      "trials_per_s": round(done / wall, 2), "optuna": optuna.__version__, "complete_in_storage": done}))


if __name__ == "__main__":
    main()
