"""reproduce.py's runs, as its worker processes (lmf/jobs.py) call them: one training run into its folder, then,
if the robustness study wants it, its evaluation; a task's data loaded once per process for all its runs."""
import contextlib
import os
import shutil
import time

from lmf import engine, hparams, metrics, records, robustness

_task_data = dict(key=None, sets=None)  # this process's splits of the last task: a task's runs share them


def task_data(hp, path):
    """(splits, hp with what the file decides) of hp's task, loaded once for all its seeds and ranks."""
    key = (hp['dataset'], hp.get('emotion'), path, records.sha256(path))  # a file written anew is loaded anew
    if _task_data['key'] != key:
        _task_data.update(key=None, sets=None)  # free the previous task's arrays first
        _task_data.update(key=key, sets=engine.load_for_training(hp, path, verbose=False)[0])
    return _task_data['sets'], hparams.with_data(hp, _task_data['sets'][0], path)


def evaluate_study(hp, path, directory, files):
    """Write the run's robustness study records `files` (lmf/robustness.py) from its checkpoint; returns seconds
    taken."""
    start = time.perf_counter()
    name = hparams.model_name(hp['dataset'], hp.get('emotion'))
    sets, _ = task_data(hp, path)
    robustness.evaluate_run(directory, os.path.join(directory, name + '.pdparams'), name, hp['dataset'],
                            metrics.metric_set(hp['dataset'], hp.get('layout', 'authors')), sets, files)
    return time.perf_counter() - start


def train_run(hp, path, directory, study):
    """Train one run into its folder (emptied first: killed before its record, or recorded with other settings);
    the engine writes the record last. study: the robustness study's records to write once the run finished
    (robustness.evaluations; () for none).
    Returns (the record, seconds of the study's evaluation or None)."""
    name = hparams.model_name(hp['dataset'], hp.get('emotion'))
    if os.path.isdir(directory):
        shutil.rmtree(directory)
    os.makedirs(directory)
    sets, hp_of_file = task_data(hp, path)
    with open(os.devnull, 'w') as null, contextlib.redirect_stdout(null):
        try:
            engine.train_and_test(hp_of_file, path, directory, directory, sets=sets)
        except engine.TrainingDiverged as err:  # recorded as 'diverged'; the log says why, for people
            with open(os.path.join(directory, 'train_{}.txt'.format(name)), 'a') as log:
                log.write('Training diverged: {}\n'.format(err))
    record = records.read(os.path.join(directory, 'train_{}.json'.format(name)))
    if study and record['status'] == 'finished':
        return record, evaluate_study(hp, path, directory, study)
    return record, None
