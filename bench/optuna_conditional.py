#!/usr/bin/env python3
"""Optuna's TPE with group decomposition on bench/functions.ts's `conditional` function.

Usage: python3 bench/optuna_conditional.py <seeds> <trials>
Runs TPESampler(seed=s, multivariate=True, group=True) (group=True requires multivariate=True)
for seeds 0..seeds-1, `trials` sequential trials each, the space asked define-by-run as Optuna
users write it. Prints one JSON object: {"optuna": version, "curves": [[log10 regret of the best
so far after each trial] per seed]}. The function must stay identical to conditionalModel in
bench/functions.ts.
"""
import json
import math
import sys
import warnings

warnings.filterwarnings("ignore")  # group=True and multivariate=True are "experimental"
import optuna  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)
F_MIN = 0.0


def conditional_model(p):
    dn = (p["n_estimators"] - 150) / 250
    if p["model_type"] == "random_forest":
        return (0.2 + ((p["max_depth"] - 11) / 12) ** 2 + ((p["min_samples_split"] - 4) / 18) ** 2
                + 0.5 * ((p["n_estimators"] - 280) / 250) ** 2)
    du = math.log10(p["learning_rate"] / 0.05)
    ds = p["subsample"] - 0.8
    return du ** 2 + dn ** 2 + ds ** 2 + 1.5 * (du + dn) ** 2


def objective(trial):
    p = {
        "model_type": trial.suggest_categorical("model_type", ["random_forest", "gradient_boosting"]),
        "n_estimators": trial.suggest_int("n_estimators", 50, 300),
    }
    if p["model_type"] == "random_forest":
        p["max_depth"] = trial.suggest_int("max_depth", 3, 15)
        p["min_samples_split"] = trial.suggest_int("min_samples_split", 2, 20)
    else:
        p["learning_rate"] = trial.suggest_float("learning_rate", 0.01, 0.3, log=True)
        p["subsample"] = trial.suggest_float("subsample", 0.5, 1.0)
    return conditional_model(p)


def run(seed, trials):
    sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)
    study = optuna.create_study(sampler=sampler)
    study.optimize(objective, n_trials=trials)
    curve, best = [], math.inf
    for t in study.trials:
        best = min(best, t.value)
        curve.append(math.log10(max(best - F_MIN, 1e-12)))
    return curve


def main():
    seeds, trials = int(sys.argv[1]), int(sys.argv[2])
    print(json.dumps({"optuna": optuna.__version__, "curves": [run(s, trials) for s in range(seeds)]}))


if __name__ == "__main__":
    main()
