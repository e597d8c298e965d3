"""Hyperparameter search for LMF on Optuna: the authors' random search over their grid, or MMSA's.

The n-th trial drawn tries setting n of the grid shuffled by --search_seed; the best VALIDATION loss chooses (test
scores are recorded, never used to choose). The same command resumes the study. docs/search.md has the details."""
import argparse
import contextlib
import csv
import functools
import json
import os
import pathlib
import random
import shlex
import socket
import sys
import threading
import time
import warnings

import numpy as np

import utils

if __name__ == '__main__':  # Optuna is an extra (requirements-search.txt): without it, one line instead of a traceback
    utils.run_cli(lambda: utils.require('optuna', 'search', 'search.py'))
import optuna  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from lmf import engine, hparams, metrics  # noqa: E402
from lmf.search_space import decode_params, load_space, optuna_space, space_size, value_text  # noqa: E402
from safe_io import UserError, atomic_write  # noqa: E402

warnings.filterwarnings('ignore', category=optuna.exceptions.ExperimentalWarning)  # heartbeat_interval
# The CSV's loss columns (the test metrics' are metrics.METRICS' csv): the validation loss, IEMOCAP's test loss.
VALID_LOSS = dict(iemocap='CrossEntropyLoss', mosi='MAE', pom='MAE', mmsa_mosi='Loss', mmsa_sims='Loss')
POM_COLUMNS = (('accuracy', 'trait_acc'), ('MAE', 'trait_mae'), ('corr', 'trait_corr'))  # per trait, 3 decimals
# must agree on resume (a key the study lacks, being older, is not compared; a study without dataset is IEMOCAP)
STUDY_KEYS = hparams.IDENTITY_KEYS + hparams.SEARCH_FIXED + ('recipe', 'space', 'data_bytes', 'search_seed')
RETRY = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)  # a dead worker's setting runs once more


class SkipTrial(Exception):
    """Not trained: a duplicate setting, or the study's budget is reached."""


class ShuffledGridSampler(optuna.samplers.RandomSampler):
    """The n-th trial it draws for (enqueued and retried trials take no place) tries setting n of the grid shuffled
    by seed; past the grid's end, the first setting no trial has."""
    # not GridSampler: it lists the whole grid in every process (1 GB and 3-6 s for the authors' 7.5-9M settings)
    # and rescans it after every trial

    def __init__(self, space, seed):
        super().__init__(seed)  # legacy RandomState: the same permutation under every numpy version
        self.space, self.order = space, np.random.RandomState(seed).permutation(space_size(space))

    def setting(self, index):
        index, params = int(self.order[index]), {}
        for name, values in reversed(list(self.space.items())):
            index, i = divmod(index, len(values))
            params[name] = values[i]
        return params

    def untried(self, study):
        tried = [t.params for t in study.get_trials(deepcopy=False) if counts_toward_budget(t)]
        return next((p for p in map(self.setting, range(space_size(self.space))) if p not in tried), None)

    def sample_independent(self, study, trial, name, distribution):
        n = sum(t.number < trial.number and not {'fixed_params', 'failed_trial'} & set(t.system_attrs)
                for t in study.get_trials(deepcopy=False))
        return (self.setting(n) if n < space_size(self.space) else self.untried(study) or self.setting(0))[name]


def one_line(err, url=None):
    """An exception (or a text) as one line without the password of the storage URL url (drivers echo it)."""
    first = (str(err).strip().splitlines() or [''])[0]
    text = err if isinstance(err, str) else '{}: {}'.format(type(err).__name__, first)
    try:
        from sqlalchemy.engine import make_url
        parsed = make_url(url)
    except Exception:  # not an SQLAlchemy URL
        return text
    text = text.replace(url, parsed.render_as_string(hide_password=True))
    return text.replace(parsed.password, '***') if parsed.password else text


def open_storage(url, default_path, heartbeat_interval=60, grace_period=180):
    """(storage, where): a journal file (default), or an RDB URL with Optuna's heartbeat and RETRY."""
    from optuna.storages.journal import JournalFileBackend, JournalStorage
    if url is None or '://' not in url:
        path = url or default_path
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            return JournalStorage(JournalFileBackend(path)), os.path.abspath(path)
        except Exception as err:
            raise UserError('--storage {}: cannot open the journal file ({})'.format(path, one_line(err)))
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
    args, shown = {'timeout': 60} if url.startswith('sqlite') else {'connect_timeout': 10}, one_line(url, url)
    for attempt in range(8):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs={'connect_args': args}, grace_period=grace_period,
                                              heartbeat_interval=heartbeat_interval,
                                              heartbeat_stale_trial_callback=RETRY), shown
        except ImportError as err:
            raise UserError('--storage {}: the database driver is not installed ({}); for PostgreSQL `pip install '
                            '"psycopg[binary]"`, for MySQL `pip install PyMySQL` and a mysql+pymysql:// URL'.format(
                                shown, one_line(err, url)))
        except Exception as err:
            # RDBStorage creates its tables without a lock: processes starting together on an empty database
            # collide (PostgreSQL UniqueViolation on pg_type, SQLite 'table already exists')
            if attempt == 7 or not (isinstance(err, IntegrityError) or isinstance(
                    err, (ProgrammingError, OperationalError)) and 'already exists' in str(err)):
                raise UserError('--storage {}: cannot open ({})'.format(shown, one_line(err, url)))
            time.sleep(random.uniform(0.2, 0.5) * (attempt + 1))


def open_study(c, create=False, sampler=None):
    """(study, storage, where), checked to be this command's study; with create, created if new."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # this script prints its own line per trial
    storage, where = open_storage(c.storage, c.journal, c.heartbeat_interval, c.grace_period)
    pruner = optuna.pruners.MedianPruner(n_warmup_steps=c.prune_warmup) if c.prune else optuna.pruners.NopPruner()
    try:  # Optuna settles processes that create the study, or write its attributes, at the same time
        study = optuna.create_study(study_name=c.study, storage=storage, direction='minimize', sampler=sampler,
                                    pruner=pruner, load_if_exists=True)
        saved = dict(study.user_attrs)
        for key, value in dict(c.meta, data_path=c.data_path).items() if create and not saved else ():
            study.set_user_attr(key, value)
    except Exception as err:
        raise UserError('--storage {}: cannot open study {} ({})'.format(where, c.study, one_line(err, c.storage)))
    if study.direction != optuna.study.StudyDirection.MINIMIZE:
        raise UserError('study {} in {} maximises; it is not an LMF search'.format(c.study, where))
    if saved:
        saved.setdefault('dataset', 'iemocap')  # a study from before --dataset existed

    def short(value):
        text = '(none)' if value is None else value if isinstance(value, str) else json.dumps(value)
        return text if len(text) < 80 else text[:77] + '...'
    for key in (k for k in STUDY_KEYS if k in saved and saved[k] != c.meta[k]):
        raise UserError('study {} in {} was run with {} {} but this command has {}; rerun it with the same flags or '
                        'choose another --study'.format(c.study, where, key, short(saved[key]), short(c.meta[key])))
    return study, storage, where


# JournalStorage has no heartbeat (Optuna 5.0): this machine's dead workers are found by pid and start time.

def _started(pid):
    """Process pid's start time (Linux /proc: a reused pid has another one; '' elsewhere), None if there is none."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # another user's
        pass
    try:
        with open('/proc/{}/stat'.format(pid)) as f:
            return f.read().rsplit(')', 1)[1].split()[19]
    except (OSError, IndexError):
        return ''


def fail_dead_local_trials(study, storage):
    """Fail the RUNNING trials of this machine's dead workers; RETRY their settings as the heartbeat would."""
    for trial in study.get_trials(states=(TrialState.RUNNING,)):  # copies
        parts = trial.user_attrs.get('worker', '').split(':')
        if len(parts) != 3 or parts[0] != socket.gethostname() or _started(int(parts[1])) in ('', parts[2]):
            continue
        trial.user_attrs.pop('worker')  # retried without the dead worker's id (and without the fail_reason)
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):  # another worker got there first
            storage.set_trial_user_attr(trial._trial_id, 'fail_reason', 'worker process {} died'.format(parts[1]))
            if storage.set_trial_state_values(trial._trial_id, TrialState.FAIL):
                RETRY(study, trial)


def database_error(err):
    """The SQLAlchemy error that err is or was raised while handling, or None."""
    from sqlalchemy.exc import SQLAlchemyError
    for _ in range(100):  # a chain, not a cycle
        if err is None or isinstance(err, SQLAlchemyError):
            return err
        err = err.__cause__ or err.__context__


@functools.lru_cache(maxsize=1)  # the data file is read once per process (again if its size changed)
def data_sets(dataset, path, emotion, output_dim, size):
    return engine.load_data(dataset, path, emotion, verbose=False, output_dim=output_dim)


def settings(c, params):
    return hparams.resolve(c.dataset, c.emotion, c.trait, recipe=c.recipe, data_path=c.data_path,
                           flags=dict(c.flags, **decode_params(params, c.joint)), data=data_sets(*c.data)[0])


def counts_toward_budget(trial):
    """One setting of the study's --trials: COMPLETE, PRUNED, diverged, or RUNNING/WAITING and not skipped."""
    # MaxTrialsCallback counts states only: the study's total also counts diverged (FAIL) trials
    reason = trial.user_attrs.get('fail_reason', '')
    return reason.startswith('diverged') if trial.state == TrialState.FAIL else not reason


class Worker:  # trials of one study in this process until the study has --trials settings

    def __init__(self, c, label='', cpu_threads=None):
        self.c, self.label, self.cpu_threads = c, label, cpu_threads
        self.grid = ShuffledGridSampler(c.space, c.search_seed)  # also the order of the settings TPE's repeats get
        sampler = optuna.samplers.TPESampler(seed=c.search_seed) if c.sampler == 'tpe' else self.grid
        self.study, self.storage, self.where = open_study(c, sampler=sampler)
        self.heartbeat = isinstance(self.storage, optuna.storages.RDBStorage)

    def counted(self, over=False):
        """Settings of the study's --trials (over: those no longer running or waiting)."""
        return sum(counts_toward_budget(t) and not (over and t.state in (TrialState.RUNNING, TrialState.WAITING))
                   for t in self.study.get_trials(deepcopy=False))

    def objective(self, trial):
        c = self.c
        trial.set_user_attr('worker', '{}:{}:{}'.format(socket.gethostname(), os.getpid(), _started(os.getpid())))
        params = {name: trial.suggest_categorical(name, values) for name, values in c.space.items()}
        trials = self.study.get_trials(deepcopy=False)
        # Optuna never refuses a tried setting: TPESampler samples with replacement, enqueued trials may repeat one
        same = [t.number for t in trials if t.number != trial.number and counts_toward_budget(t) and t.params == params]
        if same:
            trial.set_user_attr('fail_reason', 'duplicate of trial {}'.format(same[0]))
            untried = self.grid.untried(self.study)
            if untried is None:
                print(self.label + 'every setting of the space seems tried; stopping', flush=True)
                self.study.stop()
            else:
                self.study.enqueue_trial(untried)
            raise SkipTrial()
        # MaxTrialsCallback runs after a trial: workers starting together would all pass it
        if sum(t.number < trial.number and counts_toward_budget(t) for t in trials) >= c.trials:
            trial.set_user_attr('fail_reason', 'budget reached')
            self.study.stop()
            raise SkipTrial()
        run_dir = os.path.join(c.out, c.study, 'trial_{}'.format(trial.number))
        trial.set_user_attr('run_dir', run_dir)
        trial.set_user_attr('cpu_threads', self.cpu_threads)  # the last digits of the losses depend on it

        def on_epoch(epoch, valid_loss):
            trial.report(valid_loss, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned('pruned after epoch {} (validation loss {})'.format(epoch, valid_loss))
        try:
            with open(os.devnull, 'w') as devnull, contextlib.redirect_stdout(sys.stdout if c.verbose else devnull):
                result = engine.train_and_test(settings(c, params), c.data_path, run_dir, run_dir,  # its log there
                                               sets=data_sets(*c.data), on_epoch=on_epoch if c.prune else None)
        except engine.TrainingDiverged as err:
            trial.set_user_attr('fail_reason', 'diverged: {}'.format(err))
            raise
        except KeyboardInterrupt:  # its setting runs first when the command is run again
            trial.set_user_attr('fail_reason', 'interrupted')
            self.study.enqueue_trial(params)
            raise
        for key, value in result.items():  # every test score (what the CSV needs, and the rest), the checkpoint
            if key != 'synthetic':
                trial.set_user_attr(key, value)
        return result['best_valid_loss']

    def after_trial(self, study, trial):
        head, reason = 'trial {} {}'.format(trial.number, trial.state.name), trial.user_attrs.get('fail_reason')
        if trial.state == TrialState.COMPLETE:
            head += ': validation loss {:.6f}'.format(trial.value) + ''.join(', test {} {:.4f}'.format(
                label, trial.user_attrs[key]) for key, label in metrics.shown(self.c.metric_set))
        elif trial.state == TrialState.PRUNED:
            head += ' after epoch {}'.format(max(trial.intermediate_values, default=None))
        elif reason is None or reason.startswith('diverged'):
            head += ' ({})'.format(reason or 'error')
        else:
            head = 'trial {} skipped ({}; recorded as FAIL)'.format(trial.number, reason)
        print('{}{} | {}'.format(self.label, head, ' '.join('{}={}'.format(*p) for p in trial.params.items())),
              flush=True)
        try:
            export_csv(study, self.c)
        except OSError as err:
            print('{}could not write {}: {}'.format(self.label, self.c.csv, err), flush=True)
        if self.counted() >= self.c.trials:
            study.stop()

    def thread_failed(self, args):
        """threading.excepthook while the worker runs: Optuna's heartbeat thread dies with a traceback when the
        database goes away; one line instead (the trial goes on)."""
        if database_error(args.exc_value) is None:
            return self.previous_hook(args)
        print('{}--storage {}: a heartbeat lost the database ({}); the trial goes on without heartbeats, so other '
              'workers may mark it failed'.format(self.label, self.where, one_line(
                  database_error(args.exc_value), self.c.storage)), file=sys.stderr, flush=True)

    def run(self):
        self.previous_hook, threading.excepthook = threading.excepthook, self.thread_failed
        try:
            while self.counted(over=True) < self.c.trials:
                if self.heartbeat:  # Optuna checks when a trial starts; a worker waiting for others' trials, here
                    optuna.storages.fail_stale_trials(self.study)
                else:
                    fail_dead_local_trials(self.study, self.storage)
                if self.counted() < self.c.trials or self.study.get_trials(states=(TrialState.WAITING,)):
                    self.study.optimize(self.objective, catch=(SkipTrial, engine.TrainingDiverged),
                                        callbacks=[self.after_trial])
                    if self.counted() < self.c.trials:  # stopped for another reason (every setting tried)
                        return
                elif not self.heartbeat:
                    return  # trials run elsewhere; without heartbeats a dead worker cannot be told from a live one
                else:  # wait for the trials running elsewhere: if their worker died, their settings are tried again
                    time.sleep(min(self.c.heartbeat_interval, 5))
        except Exception as err:
            if isinstance(err, UserError) or database_error(err) is None:
                raise
            raise UserError('--storage {}: lost the database ({}); rerun the same command to finish the study'.format(
                self.where, one_line(database_error(err), self.c.storage)))
        finally:
            threading.excepthook = self.previous_hook


def export_csv(study, c):
    """One row per completed trial: the authors' columns in their order (MMSA's files: MMSA's test metrics)."""
    columns = [('Best Validation ' + VALID_LOSS[c.metric_set], 'best_valid_loss')] + [
        ('Test CrossEntropyLoss', 'test_loss')] * (c.metric_set == 'iemocap') + [
        (m.csv, m.key) for m in metrics.METRICS[c.metric_set] if m.csv]
    if c.metric_set == 'pom':
        from data.pom import trait_names
        columns += [('{} {}'.format(name, word), (key, k)) for word, key in POM_COLUMNS
                    for k, name in enumerate(trait_names(c.label_count))]
    with atomic_write(c.csv, newline='') as f:
        writer = csv.writer(f)
        writer.writerow(list(hparams.SEARCH_HPARAMS) + [header for header, _ in columns])
        for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):  # in number order
            hp, attrs = decode_params(trial.params, c.joint), trial.user_attrs
            writer.writerow([hp[name] for name in hparams.SEARCH_HPARAMS] + [
                round(attrs[key[0]][key[1]], 3) if isinstance(key, tuple) else attrs[key] for _, key in columns])


def summary(c, study, where):
    export_csv(study, c)
    trials = study.get_trials(deepcopy=False)
    count = {s: sum(t.state == s for t in trials) for s in TrialState}
    diverged = sum(t.state == TrialState.FAIL and counts_toward_budget(t) for t in trials)
    print('Study {} in {}: {} complete, {} pruned, {} diverged, {} running elsewhere; {} not counted (duplicate '
          'settings, budget reached, Ctrl-C, dead workers).'.format(
              c.study, where, count[TrialState.COMPLETE], count[TrialState.PRUNED], diverged,
              count[TrialState.RUNNING], count[TrialState.FAIL] - diverged))
    if not count[TrialState.COMPLETE]:
        raise UserError('no trial of study {} completed; see the lines above and {}'.format(
            c.study, os.path.join(c.out, c.study)))
    best = min((t for t in trials if t.state == TrialState.COMPLETE), key=lambda t: (t.value, t.number))
    attrs, hp = best.user_attrs, settings(c, best.params)
    shown = (() if c.dataset in hparams.REGRESSION else (('test_loss', 'loss'),)) + metrics.shown(c.metric_set)
    print('Best trial {} by validation loss (test scores only reported, never used to choose): validation loss '
          '{}{}'.format(best.number, best.value, ''.join(', test {} {}'.format(l, attrs[k]) for k, l in shown)))
    if attrs.get('run_dir'):
        print('Its checkpoint: {}'.format(os.path.join(attrs['run_dir'], c.name + '.pdparams')))
    # the train.py command, with the trial's CPU threads where train.py's default differs (they change the last digits)
    words = ['python', 'train.py'] + (['--emotion', hp['emotion']] if hp['dataset'] == 'iemocap' else
                                      ['--dataset', hp['dataset']] + ['--trait', hp.get('trait')] * ('trait' in hp))
    words += ['--data_path', c.data_path] + ['--recipe', hp.get('recipe')] * (hp.get('recipe', 'ours') != 'ours')
    words += [w for n in hparams.names() if n in hparams.SEARCH_HPARAMS + hparams.SEARCH_FIXED and n in hp
              for w in ('--' + n, value_text(hp[n]))] + ['--device', c.device] * (c.device != 'auto')
    threads = attrs.get('cpu_threads')
    words += ['--cpu_threads', str(threads)] * (threads not in (None, utils.default_cpu_threads()))
    print('Reproduce it (prints "Best validation loss is: {}"):\n{}'.format(best.value, shlex.join(words)))
    print('CSV: {}'.format(c.csv))
    if c.synthetic:
        print(engine.synthetic_note(c.dataset))


def run_worker(c, index=None, cpu_threads=None):
    """Trials until the study is done, in this process or as process `index` of --workers."""
    label = '' if index is None else '[worker {}] '.format(index)
    try:
        device = utils.setup_device(c.device, cpu_threads)
        Worker(c, label, (cpu_threads or utils.default_cpu_threads()) if device == 'cpu' else None).run()
    except (UserError, KeyboardInterrupt) as err:
        if index is None:
            raise
        if isinstance(err, UserError):
            print('error: {}{}'.format(label, err), file=sys.stderr, flush=True)
        sys.exit(2 if isinstance(err, UserError) else 130)


def run_workers(c):
    """--workers processes sharing the study's storage (Optuna coordinates them) and the cores."""
    import multiprocessing
    threads = max(1, utils.default_cpu_threads() // c.workers)
    processes = [multiprocessing.get_context('spawn').Process(target=run_worker, args=(c, i, threads))
                 for i in range(c.workers)]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:
        for process in processes:  # they got the Ctrl-C too; let them record their trials as failed
            process.join(timeout=30)
        raise
    failed = ['{} (exit {})'.format(i, p.exitcode) for i, p in enumerate(processes) if p.exitcode != 0]
    if failed:
        raise UserError('worker(s) {} stopped with an error; see above'.format(', '.join(failed)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    hparams.add_task_args(parser, trait_use='that gives the fixed settings (seed) and names the study')
    utils.add_data_arg(parser)
    hparams.add_hparam_args(parser, hparams.SEARCH_FIXED)  # the same in every trial
    add = parser.add_argument
    add('--trials', type=int, default=50, help="the study's total number of settings (resuming runs the missing ones)")
    add('--recipe', choices=hparams.RECIPES, help="MMSA's files: every trial's train.py --recipe (default ours)")
    add('--space', help='JSON file {"rank": [1, 4], "hidden_sizes": [[16, 128, 128]], ...} replacing lists of the grid')
    add('--sampler', choices=('random', 'tpe'), default='random', help='random: the grid in a seeded order')
    add('--search_seed', type=int, default=0, help="the sampler's seed (the grid's order; TPE's), kept by the study")
    add('--prune', action='store_true', help="stop trials worse than earlier trials' median (Optuna MedianPruner)")
    add('--prune_warmup', type=int, default=10, help='epochs a trial runs before it may be pruned')
    add('--study', help="default lmf_<emotion> or lmf_<dataset> (+ _mmsa: MMSA's CMU-MOSI file; + _recipe_mmsa)")
    add('--storage', help='a journal file (default <out>/<study>.journal) or an RDB URL (postgresql://, sqlite:///...)')
    add('--workers', type=int, default=1, help='worker processes on this machine')
    add('--heartbeat_interval', type=int, default=60, help="RDB storages: seconds between a running trial's heartbeats")
    add('--grace_period', type=int, default=180, help='RDB storages: seconds without heartbeat after which a trial is '
        'failed (its worker died) and its setting tried again')
    add('--out', default='search', help='folder for trial checkpoints (<out>/<study>/trial_<n>/) and the CSV')
    add('--csv', help='default <out>/<study>.csv')
    add('--device', choices=('auto', 'cpu', 'gpu'), default='auto')
    add('--verbose', action='store_true', help="print every trial's training output")
    return parser.parse_args(argv)


def make_config(c):
    """The flags checked (one-line errors, before anything is written), with what a worker needs (picklable)."""
    for flag, low in (('trials', 1), ('workers', 1), ('heartbeat_interval', 1), ('prune_warmup', 0)):
        if getattr(c, flag) < low:
            raise UserError('--{} must be >= {}, got {}'.format(flag, low, getattr(c, flag)))
    if c.grace_period <= c.heartbeat_interval:
        raise UserError('--grace_period must be greater than --heartbeat_interval ({}), got {}'.format(
            c.heartbeat_interval, c.grace_period))
    dataset, c.name, task = hparams.task_of(c)  # bad task flags: an error before the data is read
    c.flags = hparams.check_hparams(hparams.explicit_hparams(c, hparams.SEARCH_FIXED))
    if not (dataset in hparams.MMSA_DATASETS and dataset in hparams.PAPER_FAMILIES):  # one layout: --space now too
        load_space(c.space, hparams.family(dataset))
    c.data_path = engine.default_data_path(c.data_path, dataset)
    # the file decides the layout, and so the grid and the metrics (bad data: one error now, not in every trial)
    c.data = (dataset, c.data_path, task.get('emotion'), task.get('output_dim'), os.path.getsize(c.data_path))
    sets = data_sets(*c.data)
    c.hp = hparams.resolve(dataset, c.emotion, c.trait, recipe=c.recipe, flags=c.flags, data=sets[0],
                           data_path=c.data_path)
    layout = sets[0].layout
    c.space, c.joint = optuna_space(load_space(c.space, hparams.family(dataset, layout)))
    if c.trials > space_size(c.space):
        raise UserError('--trials {} exceeds the {} distinct settings of the search space'.format(
            c.trials, space_size(c.space)))
    c.study = c.study or 'lmf_{}{}{}'.format(c.name, '_mmsa' * (layout == 'mmsa' and dataset in hparams.PAPER_FAMILIES),
                                             '_recipe_mmsa' * (c.hp.get('recipe') == 'mmsa'))
    if not c.study or os.sep in c.study or c.study.startswith('.'):
        raise UserError('--study {!r}: use a plain name (it names files under {})'.format(c.study, c.out))
    c.meta = dict({k: c.hp.get(k) for k in STUDY_KEYS[:-3]}, layout=layout, space=c.space, search_seed=c.search_seed,
                  data_bytes=c.data[-1])
    c.journal, c.csv = os.path.join(c.out, c.study + '.journal'), c.csv or os.path.join(c.out, c.study + '.csv')
    c.metric_set, c.label_count = metrics.metric_set(dataset, layout), int(sets[0].labels.shape[1])
    c.synthetic = sets[0].synthetic
    return c


def main(argv=None):
    c = make_config(parse_args(argv))
    study, _, where = open_study(c, create=True)
    marker = pathlib.Path(c.out, c.study, 'STORAGE')  # <out>/<study>/ holds the trials of one storage's study
    owner = marker.read_text().strip() if marker.is_file() else where
    if owner != where:
        raise UserError('{} holds the trials of study {} in {}, not {}; choose another --study or --out'.format(
            marker.parent, c.study, owner, where))
    with atomic_write(marker) as f:
        f.write(where + '\n')
    print('Study {} in {}: {} settings to try in all, {} sampler, space of {} settings; trials write to {}'.format(
        c.study, where, c.trials, c.sampler, space_size(c.space), os.path.join(c.out, c.study)), flush=True)
    (run_workers if c.workers > 1 else run_worker)(c)
    summary(c, study, where)


if __name__ == '__main__':
    utils.run_cli(main)
