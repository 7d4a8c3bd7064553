"""Chapter 19's arm (c) with D_LR's term switched off (λ_degradation 0: G_LR's noise σ stays at the scanner's estimate),
the full-size configuration and seeds otherwise; writes `nbs/results/unpaired_no_dlr.json` (same schema as unpaired.json).

    python tools/unpaired_ablation.py     # about 15 minutes on 2 CPU cores
"""
from dataclasses import replace
from pathlib import Path

from srgan_course.unpaired import UnpairedConfig, experiment_model, run_experiment

if __name__ == "__main__":
    cfg = UnpairedConfig(arms=("srrescycgan",), model=replace(experiment_model(), lambda_degradation=0.0))
    run_experiment(cfg, out=Path(__file__).resolve().parents[1] / "nbs" / "results" / "unpaired_no_dlr.json")
