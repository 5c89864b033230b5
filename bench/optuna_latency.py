#!/usr/bin/python3
"""Optuna 3.1 TPE suggestion latency on the mixed_a space, for bench/latency.ts to compare against.

Usage: /usr/bin/python3 bench/optuna_latency.py <sizes, e.g. 100,500> <pairs> <samplers, e.g. tpe,tpe_mv>
Pre-populates an in-memory study with N finished trials (random parameters, mixed_a values),
then times `pairs` ask+tell pairs (the ask samples every parameter). Prints one JSON object:
{"optuna": version, "results": [{"sampler", "n", "median_ms"}]}.
"""
import json
import math
import random
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore")
import optuna  # noqa: E402
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = {
    "lr": FloatDistribution(1e-5, 1.0, log=True),
    "layers": IntDistribution(1, 8),
    "optimizer": CategoricalDistribution(["sgd", "adam", "rmsprop"]),
    "dropout": FloatDistribution(0.0, 0.9),
    "batch_size": IntDistribution(16, 512, log=True),
}
OPT = {"sgd": (-1.0, 0.05), "adam": (-3.0, 0.0), "rmsprop": (-2.5, 0.02)}


def mixed_a(p):
    u_star, off = OPT[p["optimizer"]]
    du = math.log10(p["lr"]) - u_star
    dd = p["dropout"] - 0.2
    return (0.5 * du ** 2 + 0.1 * (p["layers"] - 4) ** 2 / 16 + dd ** 2
            + 0.05 * (math.log2(p["batch_size"]) - 6) ** 2 / 9 + 0.3 * (du + dd) ** 2 + off)


def random_params(rng):
    return {
        "lr": math.exp(rng.uniform(math.log(1e-5), 0.0)),
        "layers": rng.randint(1, 8),
        "optimizer": rng.choice(["sgd", "adam", "rmsprop"]),
        "dropout": rng.uniform(0.0, 0.9),
        "batch_size": int(round(math.exp(rng.uniform(math.log(16), math.log(512))))),
    }


def make_sampler(name):
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=0)
    if name == "tpe_mv":
        return optuna.samplers.TPESampler(seed=0, multivariate=True, group=True)
    raise SystemExit("unknown sampler " + name)


def measure(sampler, n, pairs):
    rng = random.Random(n)
    study = optuna.create_study(sampler=make_sampler(sampler))
    trials = []
    for _ in range(n):
        p = random_params(rng)
        trials.append(optuna.trial.create_trial(params=p, distributions=SPACE, value=mixed_a(p)))
    study.add_trials(trials)
    times = []
    for i in range(-3, pairs):  # 3 untimed pairs first, as bench/latency.ts does
        t0 = time.perf_counter()
        trial = study.ask(SPACE)
        study.tell(trial, mixed_a(trial.params))
        if i >= 0:
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main():
    sizes = [int(s) for s in sys.argv[1].split(",")]
    pairs = int(sys.argv[2])
    samplers = sys.argv[3].split(",") if len(sys.argv) > 3 else ["tpe"]
    out = [{"sampler": s, "n": n, "median_ms": round(measure(s, n, pairs), 3)} for s in samplers for n in sizes]
    print(json.dumps({"optuna": optuna.__version__, "results": out}))


if __name__ == "__main__":
    main()
