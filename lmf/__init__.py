"""The library under the scripts. Imports run one way: the scripts -> lmf -> data/, model.py, utils.py.

hparams      the hyperparameter specification, each task's published values, resolve(): a run's settings
metrics      every dataset's test metrics, and the table naming each metric once (line, CSV, RESULTS.md)
engine       the data a run reads, batches, losses, optimizer groups, evaluation, training, --seeds
checkpoints  build a model from settings; save, read and validate checkpoints (ours and the earlier port's)
records      run records: what a run was and what it scored, as JSON beside its log
robustness   missing and noisy modalities at test time, and the robustness study's tables
parallel     data-parallel training under paddle.distributed.launch
deploy       export to Paddle Inference and ONNX, and run an export on either (Predictor)
search_space search.py's grid, as Optuna samples it, and --space files
speed        LMF against TFN at the paper's efficiency setting (benchmark.py, reproduce.py)
"""
import utils  # noqa: F401  (the CPU runtime defaults must be in the environment before paddle is imported)
