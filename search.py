"""Hyperparameter search for LMF on Optuna: the authors' random search over their grid, or MMSA's.

    python search.py --emotion happy --trials 50                    # IEMOCAP, one process
    python search.py --emotion happy --trials 50 --workers 2        # two processes, one machine
    python search.py --emotion happy --trials 200 --storage postgresql://user:pw@db-host/lmf   # many machines
    python search.py --dataset mosi --trials 50                     # CMU-MOSI sentiment (regression)
    python search.py --dataset pom --trials 50 --trait Vivid        # POM, all 16 traits at once
    python search.py --dataset mosei --trials 20                    # MMSA's feature files: MMSA's LMF grid
    python search.py --dataset sims --trials 20 --recipe mmsa       # ... trained with MMSA's recipe

The grid is that of the authors' train_iemocap.py, or of train_mosi.py / train_pom.py for
--dataset mosi and pom; for MMSA's feature files (CMU-MOSEI, CH-SIMS, CH-SIMS v2, and CMU-MOSI
when --data_path is MMSA's file: the file decides) it is MMSA's config_tune.json, whose hidden
sizes and dropouts are joint choices (lists in MMSA): Optuna sees each as one categorical,
'hidden_sizes' and 'dropouts', with values such as '16/128/128' (audio/video/text). Every trial
trains with engine.train_and_test (the task's published seed, or --seed) into
search/<study>/trial_<n>/ and is ranked by its best VALIDATION loss (cross-entropy for IEMOCAP,
the authors' validation MAE for CMU-MOSI and POM, MMSA's rounded validation L1 for its files);
its test scores are recorded as trial user attributes but never used to choose (MMSA's own tune
mode records and compares test scores; this script does not). --trials is the study's total:
rerunning the same command (after a crash, Ctrl-C, or on another machine) runs only the missing
trials; a setting the study already tried is not trained again.
At the end: the best setting as the exact `python train.py ...` command that reproduces it
(with the trial's --cpu_threads where train.py's default differs, e.g. after --workers 2: the
thread count changes the last digits), and search/<study>.csv with the columns of the authors'
grid-search CSV for that dataset (MMSA's files: a column per hyperparameter, the validation
loss, then MMSA's test metrics).
"""
import argparse
import contextlib
import csv
import json
import os
import random
import shlex
import socket
import sys
import threading
import time
import warnings

from lmf import hparams
import safe_io
from lmf import engine
from lmf import metrics
import utils

# The CSV's columns after the 11 hyperparameters, as the authors' scripts wrote them: (header, trial user attribute).
# Keyed by metric set (metrics.metric_set): MMSA's files have a column per MMSA test metric, in MMSA's names and
# order (MMSA's own tune CSV has these, and no validation column: it selects on test).
RESULT_COLUMNS = {
    'iemocap': (('Best Validation CrossEntropyLoss', 'best_valid_loss'), ('Test CrossEntropyLoss', 'test_loss'),
                ('Test F1-score', 'f1'), ('Test Accuracy Score', 'accuracy')),
    'mosi': (('Best Validation MAE', 'best_valid_loss'), ('Test MAE', 'mae'), ('Test Corr', 'corr'),
             ('Test multiclass accuracy', 'mult_acc'), ('Test binary accuracy', 'binary_acc'),
             ('Test f1_score', 'f1')),
    'pom': (('Best Validation MAE', 'best_valid_loss'),),  # then POM_TRAIT_COLUMNS
    'mmsa_mosi': (('Best Validation Loss', 'best_valid_loss'),) + tuple(
        ('Test ' + key, key) for key in metrics.MMSA_MOSI_KEYS),
    'mmsa_sims': (('Best Validation Loss', 'best_valid_loss'),) + tuple(
        ('Test ' + key, key) for key in metrics.MMSA_SIMS_KEYS),
}
# POM: '<Trait> accuracy' for every trait, then '<Trait> MAE', then '<Trait> corr' (lists of K in the
# trial user attributes), rounded to 3 decimals as train_pom.py rounds them.
POM_TRAIT_COLUMNS = (('accuracy', 'trait_acc'), ('MAE', 'trait_mae'), ('corr', 'trait_corr'))
POM_DECIMALS = 3
# Test scores printed per trial and in the summary (attribute, label); reported, never used to choose.
SHOWN_METRICS = {
    'iemocap': (('f1', 'F1'), ('accuracy', 'accuracy')),
    'mosi': (('mae', 'MAE'), ('corr', 'Corr'), ('binary_acc', 'binary accuracy'), ('f1', 'F1')),
    'pom': (('mae', 'mean MAE'), ('corr', 'mean Corr'), ('acc', 'mean accuracy')),  # means over the traits
    'mmsa_mosi': (('MAE', 'MAE'), ('Corr', 'Corr'), ('Has0_acc_2', 'Has0_acc_2'), ('Non0_acc_2', 'Non0_acc_2'),
                  ('Non0_F1_score', 'Non0_F1')),
    'mmsa_sims': (('MAE', 'MAE'), ('Corr', 'Corr'), ('Mult_acc_2', 'Mult_acc_2'), ('Mult_acc_3', 'Mult_acc_3'),
                  ('F1_score', 'F1')),
}
# Optuna's suggest_categorical takes scalars: a joint choice of hparams.search_space (a tuple of names) is
# one categorical under this name, its values the '/'-joined values in the tuple's order ('16/128/128').
JOINT_NAMES = {('audio_hidden', 'video_hidden', 'text_hidden'): 'hidden_sizes',
               ('audio_dropout', 'video_dropout', 'text_dropout'): 'dropouts'}
JOINT_SEPARATOR = '/'
NOT_RECORDED = ('checkpoint', 'synthetic')  # train_and_test's keys that are not test scores
# must agree on resume (a study created before --dataset existed lacks dataset and trait: IEMOCAP; one
# created before MMSA's files lacks layout and recipe, which are then not compared)
STUDY_KEYS = hparams.IDENTITY_KEYS + hparams.SEARCH_FIXED + ('recipe', 'space', 'data_bytes')
DEFAULT_OUT = 'search'
REDRAW_AFTER = 10  # duplicates in a row after which a worker enqueues an untried random setting


_LOADED = {}  # data_sets(): the data file's splits, read once per process


class SkipTrial(Exception):
    """This trial is not trained (duplicate setting, or the study's budget is reached)."""


# ---------------------------------------------------------------- configuration

def joint_name(names):
    """Optuna's name of the joint choice of `names` (a tuple of hyperparameter names)."""
    return JOINT_NAMES.get(tuple(names), JOINT_SEPARATOR.join(names))


def value_text(value):
    return repr(value) if isinstance(value, float) else str(value)


def encode_joint(values):
    """A joint choice's value tuple as Optuna's categorical value: (16, 128, 128) -> '16/128/128'."""
    return JOINT_SEPARATOR.join(value_text(v) for v in values)


def decode_params(params, joint):
    """A trial's Optuna params -> {hyperparameter: value}: the joint choices (joint: {Optuna name:
    [names]}) split into their hyperparameters, typed by hparams.SPEC."""
    decoded = {}
    for key, value in params.items():
        if key in joint:
            parts = value.split(JOINT_SEPARATOR)
            decoded.update((name, hparams.BY_NAME[name].type(part)) for name, part in zip(joint[key], parts))
        else:
            decoded[key] = value
    return decoded


def load_space(path, family='iemocap'):
    """The family's grid (hparams.search_space), with the lists of a JSON file {name: [values]}
    replacing the grid's. A joint choice is keyed by its Optuna name ('hidden_sizes', 'dropouts')
    and replaced whole: its values are lists in the tuple's order ([[16, 128, 128], ...]) or the
    '16/128/128' strings; its member names (e.g. audio_hidden) cannot be given on their own."""
    space = hparams.search_space(family)
    if path is None:
        return space
    if not os.path.isfile(path):
        raise utils.UserError('--space {} does not exist'.format(path))
    try:
        with open(path) as f:
            given = json.load(f)
    except (ValueError, UnicodeDecodeError) as err:
        raise utils.UserError('--space {} is not valid JSON ({})'.format(path, err))
    if not isinstance(given, dict):
        raise utils.UserError('--space {}: expected a JSON object {{"rank": [1, 4], ...}}'.format(path))
    joint = {joint_name(key): key for key in space if isinstance(key, tuple)}
    members = {name: key for key in joint.values() for name in key}
    for name, values in given.items():
        key = joint.get(name, name)
        if name in members:
            raise utils.UserError('--space {}: {} is part of the joint choice {} ({}); give {} as a list of [{}] '
                                  'lists'.format(path, name, joint_name(members[name]), ', '.join(members[name]),
                                                 joint_name(members[name]), ', '.join(members[name])))
        if key not in space:
            raise utils.UserError('--space {}: unknown hyperparameter {!r} (known: {})'.format(
                path, name, ', '.join(joint_name(k) if isinstance(k, tuple) else k for k in space)))
        if not isinstance(values, list) or not values:
            raise utils.UserError('--space {}: {} must be a non-empty list of values, got {}'.format(
                path, name, json.dumps(values)))
        unique = []
        for value in values:
            if isinstance(key, tuple):
                value = _joint_value(path, name, key, value)
            else:
                _check_space_value(path, key, value)
            if value not in unique:
                unique.append(value)
        space[key] = unique
    return space


def _check_space_value(path, name, value, shown=None):
    integer = hparams.BY_NAME[name].type is int
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise utils.UserError('--space {}: {} value {} is not {}'.format(
            path, shown or name, json.dumps(value), 'an integer' if integer else 'a number'))
    try:
        hparams.check_hparams({name: value})
    except utils.UserError as err:
        raise utils.UserError('--space {}: {}'.format(path, str(err).lstrip('-')))


def _joint_value(path, name, names, value):
    """One value of joint choice `name` (of hyperparameters `names`) from --space: a list or an 'a/b/c' string."""
    if isinstance(value, str):
        text, parts = value, value.split(JOINT_SEPARATOR)
        try:
            value = [hparams.BY_NAME[n].type(p) for n, p in zip(names, parts)] if len(parts) == len(names) else None
        except ValueError:
            value = None
        if value is None:
            raise utils.UserError('--space {}: {} value {} is not {} values joined by {!r} ({})'.format(
                path, name, json.dumps(text), len(names), JOINT_SEPARATOR, ', '.join(names)))
    if not isinstance(value, list) or len(value) != len(names):
        raise utils.UserError('--space {}: {} value {} is not a list of {} values [{}]'.format(
            path, name, json.dumps(value), len(names), ', '.join(names)))
    for member, item in zip(names, value):
        _check_space_value(path, member, item, '{} ({})'.format(name, member))
    return tuple(value)


def optuna_space(space):
    """(the space as Optuna samples it: {name: [scalar values]}, with every joint choice one categorical of
    encoded strings; {Optuna name: [hyperparameters]} of the joint choices)."""
    flat, joint = {}, {}
    for key, values in space.items():
        if isinstance(key, tuple):
            flat[joint_name(key)] = [encode_joint(v) for v in values]
            joint[joint_name(key)] = list(key)
        else:
            flat[key] = list(values)
    return flat, joint


def space_size(space):
    size = 1
    for values in space.values():
        size *= len(values)
    return size


def base_hparams(args, layout=None):
    """Everything but the searched hyperparameters: the task's row of the table (--dataset, --emotion,
    --trait; for a file of `layout`) with its identity keys and --recipe, and --epochs, --patience, --seed."""
    return hparams.resolve(args.dataset, args.emotion, args.trait, layout, getattr(args, 'recipe', None),
                           flags=hparams.check_hparams(hparams.explicit_hparams(args, hparams.SEARCH_FIXED)),
                           data_path=args.data_path)


def safe_url(url):
    """The storage URL without its password, for messages."""
    try:
        from sqlalchemy.engine import make_url
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not an SQLAlchemy URL: show it as given
        return url


def one_line(err):
    text = str(err).strip().splitlines()
    return '{}: {}'.format(type(err).__name__, text[0] if text else '')


def open_storage(url, default_path, heartbeat_interval=60, grace_period=180):
    """Optuna storage: a journal file (default, no server; safe for several processes on one
    machine), or an RDB URL (sqlite:///, postgresql://, mysql://) with heartbeats every
    heartbeat_interval seconds, so that the trials of a worker killed on any machine are marked
    failed grace_period seconds after its last heartbeat."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage
    if url is None or '://' not in url:
        path = url or default_path
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            return JournalStorage(JournalFileBackend(path)), os.path.abspath(path)
        except Exception as err:
            raise utils.UserError('--storage {}: cannot open the journal file ({})'.format(path, one_line(err)))
    connect_args = {}
    if url.startswith('sqlite'):
        connect_args['timeout'] = 60  # wait for other workers' writes instead of 'database is locked'
    elif url.startswith(('postgresql', 'mysql')):
        connect_args['connect_timeout'] = 10
    shown = safe_url(url)
    for attempt in range(CREATE_ATTEMPTS):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', optuna.exceptions.ExperimentalWarning)  # heartbeat_interval
                storage = optuna.storages.RDBStorage(url, engine_kwargs={'connect_args': connect_args},
                                                     heartbeat_interval=heartbeat_interval, grace_period=grace_period)
            return storage, shown
        except ImportError as err:
            raise utils.UserError('--storage {}: the database driver is not installed ({}); for PostgreSQL '
                                  '`pip install "psycopg[binary]"`, for MySQL `pip install PyMySQL` and a '
                                  'mysql+pymysql:// URL'.format(shown, hide_password(one_line(err), url)))
        except Exception as err:
            # Workers started at the same moment on an empty database all create Optuna's tables: all but one
            # fail (PostgreSQL: UniqueViolation on pg_type); by the next attempt the tables exist.
            if _is_creation_race(err) and attempt + 1 < CREATE_ATTEMPTS:
                time.sleep(random.uniform(0.2, 0.5) * (attempt + 1))
                continue
            raise utils.UserError('--storage {}: cannot open ({})'.format(shown, hide_password(one_line(err), url)))


CREATE_ATTEMPTS = 8


def _is_creation_race(err):
    """An error of creating tables or rows that another process created at the same moment."""
    try:
        from sqlalchemy.exc import IntegrityError, ProgrammingError
    except ImportError:
        return False
    text = str(err)
    return isinstance(err, IntegrityError) or (isinstance(err, ProgrammingError) and 'already exists' in text)


def hide_password(text, url):
    """text without the URL's password (drivers may echo the connection string)."""
    try:
        from sqlalchemy.engine import make_url
        password = make_url(url).password
    except Exception:
        return text
    return text.replace(password, '***') if password else text


def claim_run_folder(config, where):
    """<out>/<study>/ holds one storage's trials: refuse to mix in another storage's study of the same name."""
    folder = os.path.join(config['out'], config['study'])
    marker = os.path.join(folder, 'STORAGE')
    if os.path.isfile(marker):
        with open(marker) as f:
            owner = f.read().strip()
        if owner != where:
            raise utils.UserError('{} holds the trials of study {} in {}, not {}; choose another --study or --out'.format(
                folder, config['study'], owner, where))
        return
    os.makedirs(folder, exist_ok=True)
    with open(marker, 'w') as f:
        f.write(where + '\n')


def make_sampler(name):
    import optuna
    return optuna.samplers.TPESampler() if name == 'tpe' else optuna.samplers.RandomSampler()


def open_study(config, create=False):
    """Load (or, with create, create) the study; check that it was run with the same settings."""
    import optuna
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # this script prints its own line per trial
    storage, where = open_storage(config['storage'], config['journal'], config['heartbeat_interval'],
                                  config['grace_period'])
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=config['prune_warmup'])
              if config['prune'] else optuna.pruners.NopPruner())
    for attempt in range(CREATE_ATTEMPTS):
        try:
            study = optuna.create_study(study_name=config['study'], storage=storage, direction='minimize',
                                        sampler=make_sampler(config['sampler']), pruner=pruner, load_if_exists=True)
            break
        except Exception as err:
            if _is_creation_race(err) and attempt + 1 < CREATE_ATTEMPTS:  # another worker created it just now
                time.sleep(random.uniform(0.2, 0.5) * (attempt + 1))
                continue
            raise utils.UserError('--storage {}: cannot open study {} ({})'.format(
                where, config['study'], hide_password(one_line(err), config['storage'] or '')))
    if study.direction != optuna.study.StudyDirection.MINIMIZE:
        raise utils.UserError('study {} in {} maximises; it is not an LMF search'.format(config['study'], where))
    saved = dict(study.user_attrs)
    if saved:
        saved.setdefault('dataset', 'iemocap')  # a study from before --dataset existed
    mine = {key: config['meta'][key] for key in STUDY_KEYS}
    if create and not saved:
        for attempt in range(CREATE_ATTEMPTS):
            try:
                for key, value in mine.items():
                    study.set_user_attr(key, value)
                study.set_user_attr('data_path', config['data_path'])
                break
            except Exception as err:
                if _is_creation_race(err) and attempt + 1 < CREATE_ATTEMPTS:  # workers started together
                    time.sleep(random.uniform(0.2, 0.5) * (attempt + 1))
                    continue
                raise utils.UserError('--storage {}: cannot write study {} ({})'.format(
                    where, config['study'], hide_password(one_line(err), config['storage'] or '')))
    elif saved:
        for key in STUDY_KEYS:
            if key in saved and saved[key] != mine[key]:
                raise utils.UserError(
                    'study {} in {} was run with {} {} but this command has {}; rerun it with the same flags '
                    'or choose another --study'.format(config['study'], where, key, _short(saved[key]),
                                                       _short(mine[key])))
    return study, storage, where


def _short(value):
    text = '(none)' if value is None else json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) < 80 else text[:77] + '...'


# ---------------------------------------------------------------- trials

def data_sets(config):
    """engine.load_for_training's result for the search's data file, read once per process (a trial of MMSA's
    CMU-MOSEI file would otherwise read its several GB again). config['base'] already has what the file
    decides (output_dim, seq_len)."""
    key = (config['data_path'], config['meta']['data_bytes'])
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = engine.load_data(config['dataset'], config['data_path'], config['base'].get('emotion'),
                                       verbose=False, output_dim=config['base'].get('output_dim'))
    return _LOADED[key]


def worker_id():
    return '{}:{}:{}'.format(socket.gethostname(), os.getpid(), _start_time(os.getpid()))


def _start_time(pid):
    """A process's start time (Linux /proc), to tell a live pid from a reused one; '' elsewhere."""
    try:
        with open('/proc/{}/stat'.format(pid)) as f:
            return f.read().rsplit(')', 1)[1].split()[19]
    except (OSError, IndexError):
        return ''


def _alive(pid, start):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not start or _start_time(pid) in ('', start)


def fail_dead_local_trials(study, storage):
    """Mark failed the RUNNING trials of dead worker processes of this machine (a crash or kill -9).

    RDB storages do the same for every machine with Optuna's heartbeat; the journal file
    storage has no heartbeat, so a worker on another machine cannot be checked from here.
    """
    from optuna.trial import TrialState
    host = socket.gethostname()
    study_id = storage.get_study_id_from_name(study.study_name)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get('worker', '')
        parts = worker.split(':')
        if len(parts) != 3 or parts[0] != host or _alive(int(parts[1]), parts[2]):
            continue
        try:
            trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
            storage.set_trial_user_attr(trial_id, 'fail_reason', 'worker process {} died'.format(parts[1]))
            storage.set_trial_state_values(trial_id, TrialState.FAIL)
        except Exception:  # another worker got there first
            pass


def fail_stale_trials(study):
    """Optuna's heartbeat check: mark failed the RUNNING trials (of any machine) whose worker stopped beating."""
    import optuna
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def database_error(err):
    """The SQLAlchemy error that err is or was raised while handling (Optuna may raise another error from its
    cleanup after the database went away), or None."""
    try:
        from sqlalchemy.exc import SQLAlchemyError
    except ImportError:
        return None
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, SQLAlchemyError):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def counts_toward_budget(trial):
    """COMPLETE, PRUNED, diverged, or RUNNING and not yet skipped: one setting of the study's --trials."""
    from optuna.trial import TrialState
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING):
        return 'fail_reason' not in trial.user_attrs
    return trial.state == TrialState.FAIL and trial.user_attrs.get('fail_reason', '').startswith('diverged')


def setting(params):
    """A trial's setting, comparable between the trials of one study (they share the space's names)."""
    return tuple(sorted(params.items()))


def find_duplicate(study, trial):
    """Another trial of the same setting that was trained or has claimed it, or None.

    Each worker first marks its trial 'claimed', then looks for others. Of two workers that
    drew the same setting at once, the later to claim always sees the earlier one's claim,
    so at most one of them trains it (now and then both give way and draw again).
    """
    from optuna.trial import TrialState
    mine = setting(trial.params)
    for other in study.get_trials(deepcopy=False):
        if other.number == trial.number or not counts_toward_budget(other) or len(other.params) != len(mine):
            continue
        if other.state == TrialState.RUNNING and not other.user_attrs.get('claimed'):
            continue  # still drawing; it will see our claim
        if setting(other.params) == mine:
            return other
    return None


def untried_setting(study, space, rng, attempts=1000):
    tried = {setting(t.params) for t in study.get_trials(deepcopy=False)
             if counts_toward_budget(t) and len(t.params) == len(space)}
    for _ in range(attempts):
        params = {name: values[rng.randint(len(values))] for name, values in space.items()}
        if setting(params) not in tried:
            return params
    return None


class Worker:
    """Runs trials of one study in this process until the study has --trials settings."""

    def __init__(self, config, label='', cpu_threads=None):
        import numpy as np
        self.config, self.label, self.cpu_threads = config, label, cpu_threads
        self.study, self.storage, self.where = open_study(config)
        from optuna.storages._heartbeat import is_heartbeat_enabled
        self.heartbeat = is_heartbeat_enabled(self.storage)
        self.duplicates_in_a_row = 0
        self.rng = np.random.RandomState()

    def say(self, text):
        print('{}{}'.format(self.label, text), flush=True)

    def done(self):
        return sum(counts_toward_budget(t) for t in self.study.get_trials(deepcopy=False)) >= self.config['trials']

    def objective(self, trial):
        config = self.config
        trial.set_user_attr('worker', worker_id())
        params = {name: trial.suggest_categorical(name, values) for name, values in config['space'].items()}
        trial.set_user_attr('claimed', True)
        self._skip_if_duplicate_or_over_budget(trial)
        hp = dict(config['base'], **decode_params(params, config['joint']))
        run_dir = os.path.join(config['out'], config['study'], 'trial_{}'.format(trial.number))
        trial.set_user_attr('run_dir', run_dir)
        if self.cpu_threads is not None:  # the last digits of the losses depend on it
            trial.set_user_attr('cpu_threads', self.cpu_threads)
        on_epoch = self._pruning_callback(trial) if config['prune'] else None
        try:
            with contextlib.ExitStack() as stack:
                if not config['verbose']:  # the trial's log is in run_dir/train_<name>.txt
                    stack.enter_context(contextlib.redirect_stdout(open(os.devnull, 'w')))
                result = engine.train_and_test(hp, config['data_path'], run_dir, run_dir, on_epoch=on_epoch,
                                              sets=data_sets(config))
        except engine.TrainingDiverged as err:
            trial.set_user_attr('fail_reason', 'diverged: {}'.format(err))
            raise
        except KeyboardInterrupt:
            trial.set_user_attr('fail_reason', 'interrupted')
            raise
        for key, value in result.items():  # every test score (what the CSV needs, and the rest)
            if key not in NOT_RECORDED:
                trial.set_user_attr(key, value)
        trial.set_user_attr('checkpoint', result['checkpoint'])
        return result['best_valid_loss']

    def _skip_if_duplicate_or_over_budget(self, trial):
        duplicate = find_duplicate(self.study, trial)
        if duplicate is not None:
            trial.set_user_attr('fail_reason', 'duplicate of trial {}'.format(duplicate.number))
            self.duplicates_in_a_row += 1
            if self.duplicates_in_a_row % REDRAW_AFTER == 0:  # e.g. TPE keeps proposing its favourite
                params = untried_setting(self.study, self.config['space'], self.rng)
                if params is None:
                    self.say('every setting of the space seems tried; stopping')
                    self.study.stop()
                else:
                    self.study.enqueue_trial(params)
            raise SkipTrial('same setting as trial {} ({}); not trained again'.format(
                duplicate.number, duplicate.state.name))
        self.duplicates_in_a_row = 0
        earlier = [t for t in self.study.get_trials(deepcopy=False)
                   if t.number < trial.number and counts_toward_budget(t)]
        if len(earlier) >= self.config['trials']:
            trial.set_user_attr('fail_reason', 'budget reached')
            self.study.stop()
            raise SkipTrial('the study already has {} trials'.format(len(earlier)))

    @staticmethod
    def _pruning_callback(trial):
        import optuna

        def on_epoch(epoch, valid_loss):
            trial.report(valid_loss, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned('pruned after epoch {} (validation loss {})'.format(epoch, valid_loss))
        return on_epoch

    def after_trial(self, study, trial):
        self.say(describe(trial, self.config['metric_set']))
        try:
            export_csv(study, self.config)
        except OSError as err:
            self.say('could not write {}: {}'.format(self.config['csv'], err))
        if self.done():
            study.stop()

    def run(self):
        self.previous_hook, threading.excepthook = threading.excepthook, self.thread_failed
        try:
            self._run()
        except (utils.UserError, KeyboardInterrupt, SystemExit):
            raise
        except Exception as err:
            cause = database_error(err)
            if cause is None:
                raise
            raise utils.UserError('--storage {}: lost the database ({}); rerun the same command to finish the '
                                  'study'.format(self.where, hide_password(one_line(cause), self.config['storage'])))
        finally:
            threading.excepthook = self.previous_hook

    def thread_failed(self, args):
        """threading.excepthook while the worker runs: Optuna's heartbeat thread dies when the database goes
        away; one line instead of its traceback (the trial goes on, and the worker's next call to the
        storage reports the database if it is still gone). Any other thread's error as usual."""
        cause = database_error(args.exc_value)
        if cause is None:
            self.previous_hook(args)
            return
        print('{}--storage {}: a heartbeat lost the database ({}); the trial goes on without heartbeats, so other '
              'workers may mark it failed'.format(self.label, self.where, hide_password(
                  one_line(cause), self.config['storage'])), file=sys.stderr, flush=True)

    def _run(self):
        while True:
            fail_dead_local_trials(self.study, self.storage)
            if self.heartbeat:
                fail_stale_trials(self.study)
            if self.finished():
                return
            if not self.done():
                self.study.optimize(self.objective, catch=(SkipTrial, engine.TrainingDiverged),
                                    callbacks=[self.after_trial])
                if not self.done():  # stopped for another reason (every setting tried)
                    return
            elif not self.heartbeat:
                return  # trials running elsewhere; without heartbeats a dead worker's cannot be told from a live one
            else:  # wait for the trials running elsewhere: if their worker died, their settings are tried again
                time.sleep(min(self.config['heartbeat_interval'], 5))

    def finished(self):
        """The study has --trials settings that are over (not running)."""
        from optuna.trial import TrialState
        return sum(counts_toward_budget(t) for t in self.study.get_trials(deepcopy=False)
                   if t.state != TrialState.RUNNING) >= self.config['trials']


def describe(trial, metric_set):
    from optuna.trial import TrialState
    head = 'trial {} {}'.format(trial.number, trial.state.name)
    if trial.state == TrialState.COMPLETE:
        attrs = trial.user_attrs
        head += ': validation loss {:.6f}'.format(attrs['best_valid_loss']) + ''.join(
            ', test {} {:.4f}'.format(label, attrs[key]) for key, label in SHOWN_METRICS[metric_set])
    elif trial.state == TrialState.PRUNED:
        last = max(trial.intermediate_values) if trial.intermediate_values else None
        head += ' after epoch {}'.format(last)
    elif trial.user_attrs.get('fail_reason', 'diverged').startswith('diverged'):
        head += ' ({})'.format(trial.user_attrs.get('fail_reason', 'error'))
    else:
        head = 'trial {} skipped ({}; recorded as FAIL)'.format(trial.number, trial.user_attrs['fail_reason'])
    return '{} | {}'.format(head, ' '.join('{}={}'.format(k, v) for k, v in trial.params.items()))


# ---------------------------------------------------------------- results

def completed(study):
    from optuna.trial import TrialState
    return sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), key=lambda t: t.number)


def result_columns(metric_set, label_count=None):
    """[(header, value from a trial's user attributes)] after the hyperparameter columns, as the
    authors' script for the dataset wrote them (metric_set: metrics.metric_set's name; MMSA's
    files: MMSA's test metrics). POM's depend on its label count K."""
    columns = [(header, lambda attrs, key=key: attrs[key]) for header, key in RESULT_COLUMNS[metric_set]]
    if metric_set == 'pom':
        from data.pom import trait_names
        for word, key in POM_TRAIT_COLUMNS:
            columns += [('{} {}'.format(name, word), lambda attrs, key=key, k=k: round(attrs[key][k], POM_DECIMALS))
                        for k, name in enumerate(trait_names(label_count))]
    return columns


def csv_columns(metric_set, label_count=None):
    """A column per hyperparameter (joint choices split into theirs), then the results."""
    return list(hparams.SEARCH_HPARAMS) + [header for header, _ in result_columns(metric_set, label_count)]


def export_csv(study, config):
    """One row per completed trial, the authors' columns in their order (written atomically)."""
    path = config['csv']
    columns = result_columns(config['metric_set'], config['label_count'])
    with safe_io.atomic_write(path, newline='') as f:
        writer = csv.writer(f)
        writer.writerow(csv_columns(config['metric_set'], config['label_count']))
        for trial in completed(study):
            hp = decode_params(trial.params, config['joint'])
            writer.writerow([hp[name] for name in hparams.SEARCH_HPARAMS] +
                            [value(trial.user_attrs) for _, value in columns])
    return path


def task_flags(hp):
    """train.py's flags that select hp's task: --emotion for IEMOCAP (as before --dataset existed),
    --dataset mosi, or --dataset pom --trait <its row>."""
    if hp['dataset'] == 'iemocap':
        return ['--emotion', hp['emotion']]
    return ['--dataset', hp['dataset']] + (['--trait', hp['trait']] if hp.get('trait') else [])


def reproduce_command(config, params, cpu_threads=None):
    """The train.py command that retrains a setting with the search's data, budget and seed, and with
    the trial's CPU math threads where train.py's default differs (e.g. a trial of --workers 2): the
    thread count changes the last digits of the losses."""
    hp = dict(config['base'], **decode_params(params, config['joint']))
    words = ['python', 'train.py'] + task_flags(hp) + ['--data_path', config['data_path']]
    if hp.get('recipe', 'ours') != 'ours':
        words += ['--recipe', hp['recipe']]
    for name in (n for n in hparams.names() if n in hparams.SEARCH_HPARAMS + hparams.SEARCH_FIXED):
        words += ['--' + name, value_text(hp[name])]
    if config['device'] != 'auto':
        words += ['--device', config['device']]
    if cpu_threads is not None and cpu_threads != utils.default_cpu_threads():
        words += ['--cpu_threads', str(cpu_threads)]
    return ' '.join(shlex.quote(w) for w in words)


def summary(config):
    from optuna.trial import TrialState
    study, _, where = open_study(config)
    export_csv(study, config)
    trials = study.get_trials(deepcopy=False)
    states = {s: sum(t.state == s for t in trials) for s in (TrialState.COMPLETE, TrialState.PRUNED,
                                                             TrialState.RUNNING)}
    diverged = sum(t.state == TrialState.FAIL and t.user_attrs.get('fail_reason', '').startswith('diverged')
                   for t in trials)
    skipped = sum(t.state == TrialState.FAIL and not t.user_attrs.get('fail_reason', '').startswith('diverged')
                  for t in trials)
    print('Study {} in {}: {} complete, {} pruned, {} diverged, {} running elsewhere; {} not counted '
          '(duplicate settings, budget reached, Ctrl-C, dead workers).'.format(
              config['study'], where, states[TrialState.COMPLETE], states[TrialState.PRUNED], diverged,
              states[TrialState.RUNNING], skipped))
    done = completed(study)
    if not done:
        raise utils.UserError('no trial of study {} completed; see the lines above and {}'.format(
            config['study'], os.path.join(config['out'], config['study'])))
    best = min(done, key=lambda t: (t.value, t.number))
    attrs = best.user_attrs
    # A regression's test loss is its (mean) MAE, shown already.
    shown = (() if config['dataset'] in hparams.REGRESSION else (('test_loss', 'loss'),)) + \
        SHOWN_METRICS[config['metric_set']]
    print('Best trial {} by validation loss (test scores only reported, never used to choose): '
          'validation loss {}{}'.format(best.number, best.value, ''.join(
              ', test {} {}'.format(label, attrs[key]) for key, label in shown)))
    if attrs.get('run_dir'):
        print('Its checkpoint: {}'.format(os.path.join(attrs['run_dir'], '{}.pdparams'.format(config['name']))))
    print('Reproduce it (prints "Best validation loss is: {}"):'.format(best.value))
    print(reproduce_command(config, best.params, attrs.get('cpu_threads')))
    print('CSV: {}'.format(config['csv']))
    if config['synthetic']:
        print(engine.synthetic_note(config['dataset']))
    return best


# ---------------------------------------------------------------- processes

def run_worker(config, label='', cpu_threads=None):
    """One worker process: trials until the study is done. Used directly and by --workers."""
    device = utils.setup_device(config['device'], cpu_threads)
    threads = (utils.default_cpu_threads() if cpu_threads is None else cpu_threads) if device == 'cpu' else None
    Worker(config, label, threads).run()


def _worker_main(config, index, cpu_threads):
    try:
        run_worker(config, '[worker {}] '.format(index), cpu_threads)
    except utils.UserError as err:
        print('error: [worker {}] {}'.format(index, err), file=sys.stderr, flush=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


def run_workers(config, count):
    """`count` worker processes sharing the study's storage (Optuna coordinates them)."""
    import multiprocessing
    context = multiprocessing.get_context('spawn')
    # The workers share the cores rather than each taking all of them.
    cpu_threads = max(1, utils.default_cpu_threads() // count)
    processes = [context.Process(target=_worker_main, args=(config, i, cpu_threads)) for i in range(count)]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:
        for process in processes:  # they got the Ctrl-C too; let them record their trials as failed
            process.join(timeout=30)
        raise
    failed = [(i, p.exitcode) for i, p in enumerate(processes) if p.exitcode != 0]
    if failed:
        raise utils.UserError('worker(s) {} stopped with an error; see above'.format(
            ', '.join('{} (exit {})'.format(i, code) for i, code in failed)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    hparams.add_task_args(parser, trait_use='that gives the settings the search does not vary (seed) and names the '
                                            'task in the study and the checkpoints')
    parser.add_argument('--trials', type=int, default=50,
                        help="the study's total number of settings to try (resuming runs only the missing ones)")
    utils.add_data_arg(parser)
    hparams.add_hparam_args(parser, hparams.SEARCH_FIXED)  # the same in every trial
    parser.add_argument('--recipe', choices=hparams.RECIPES, default=None,
                        help="MMSA's feature files: how every trial trains, as train.py's --recipe: ours (default) "
                             "or mmsa (MMSA's training exactly, both defects included)")
    parser.add_argument('--space', type=str, default=None,
                        help='JSON file {"rank": [1, 4], ...} replacing some of the lists of the dataset\'s grid '
                             '(the authors\' train_iemocap.py, or train_mosi.py / train_pom.py; MMSA\'s '
                             'config_tune.json for its files, where the joint choices are replaced whole: '
                             '{"hidden_sizes": [[16, 128, 128]], "dropouts": [[0.3, 0.3, 0.3]]}, in the order '
                             'audio, video, text)')
    parser.add_argument('--sampler', choices=('random', 'tpe'), default='random')
    parser.add_argument('--prune', action='store_true',
                        help="stop trials whose validation loss is worse than the median of earlier trials' "
                             '(Optuna MedianPruner)')
    parser.add_argument('--prune_warmup', type=int, default=10, help='epochs a trial runs before it may be pruned')
    parser.add_argument('--study', type=str, default=None,
                        help='study name (default lmf_<emotion> for iemocap, else lmf_<dataset>; lmf_mosi_mmsa for '
                             'MMSA\'s CMU-MOSI file; _recipe_mmsa appended with --recipe mmsa)')
    parser.add_argument('--storage', type=str, default=None,
                        help='Optuna storage: an RDB URL (postgresql://..., mysql://..., sqlite:///...) or a '
                             'journal file path (default search/<study>.journal)')
    parser.add_argument('--workers', type=int, default=1, help='worker processes on this machine')
    parser.add_argument('--heartbeat_interval', type=int, default=60,
                        help='RDB storages: seconds between a running trial\'s heartbeats')
    parser.add_argument('--grace_period', type=int, default=180,
                        help='RDB storages: a running trial without a heartbeat for this many seconds is marked '
                             'failed (its worker died) and its setting is tried again')
    parser.add_argument('--out', type=str, default=DEFAULT_OUT,
                        help='folder for trial checkpoints (<out>/<study>/trial_<n>/) and the CSV')
    parser.add_argument('--csv', type=str, default=None, help='default <out>/<study>.csv')
    parser.add_argument('--device', choices=('auto', 'cpu', 'gpu'), default='auto')
    parser.add_argument('--verbose', action='store_true', help="print every trial's training output")
    return parser.parse_args(argv)


def make_config(args):
    """Validate the flags (one-line errors) and gather what a worker needs (picklable)."""
    if args.trials < 1:
        raise utils.UserError('--trials must be >= 1, got {}'.format(args.trials))
    if args.workers < 1:
        raise utils.UserError('--workers must be >= 1, got {}'.format(args.workers))
    if args.heartbeat_interval < 1:
        raise utils.UserError('--heartbeat_interval must be >= 1, got {}'.format(args.heartbeat_interval))
    if args.grace_period <= args.heartbeat_interval:
        raise utils.UserError('--grace_period must be greater than --heartbeat_interval ({}), got {}'.format(
            args.heartbeat_interval, args.grace_period))
    if args.prune_warmup < 0:
        raise utils.UserError('--prune_warmup must be >= 0, got {}'.format(args.prune_warmup))
    # bad task flags: one error now, before the data is read (--recipe waits for the file: CMU-MOSI has two layouts)
    dataset, name, task = hparams.task_of(args)
    hparams.check_hparams(hparams.explicit_hparams(args, hparams.SEARCH_FIXED))
    if not (dataset in hparams.MMSA_DATASETS and dataset in hparams.PAPER_FAMILIES):  # one layout: --space now too
        load_space(args.space, hparams.family(dataset))
    data_path = engine.default_data_path(args.data_path, dataset)
    # bad data: one error now, not in every trial. The file decides the layout, and so the settings, the grid
    # and the metrics.
    sets = engine.load_data(dataset, data_path, task.get('emotion'), verbose=False, output_dim=task.get('output_dim'))
    layout = getattr(sets[0], 'layout', 'authors')
    base = base_hparams(args, layout)
    base = hparams.with_data(base, sets[0], data_path)  # output_dim and seq_len, as every trial would find them
    space, joint = optuna_space(load_space(args.space, hparams.family(dataset, layout)))
    if args.trials > space_size(space):
        raise utils.UserError('--trials {} exceeds the {} distinct settings of the search space'.format(
            args.trials, space_size(space)))
    study = args.study or default_study(name, dataset, layout, base.get('recipe'))
    if not study or os.sep in study or study.startswith('.'):
        raise utils.UserError('--study {!r}: use a plain name (it names files under {})'.format(study, args.out))
    train_set = sets[0]
    meta = dict(dataset=dataset, emotion=base.get('emotion'), trait=base.get('trait'), layout=layout,
                recipe=base.get('recipe'), epochs=base['epochs'], patience=base['patience'], seed=base['seed'],
                space=space, data_bytes=os.path.getsize(data_path))
    _LOADED.clear()
    _LOADED[(data_path, meta['data_bytes'])] = sets  # a worker in this process reads the file no more
    return dict(dataset=dataset, name=name, label_count=int(train_set.labels.shape[1]),
                metric_set=metrics.metric_set(dataset, layout),
                trials=args.trials, base=base, space=space, joint=joint, study=study,
                storage=args.storage, heartbeat_interval=args.heartbeat_interval, grace_period=args.grace_period,
                journal=os.path.join(args.out, '{}.journal'.format(study)),
                out=args.out, csv=args.csv or os.path.join(args.out, '{}.csv'.format(study)),
                data_path=data_path, sampler=args.sampler, prune=args.prune, prune_warmup=args.prune_warmup,
                device=args.device, verbose=args.verbose, meta=meta, synthetic=train_set.synthetic)


def default_study(name, dataset, layout, recipe):
    """lmf_<name>; MMSA's file of a paper dataset (CMU-MOSI) lmf_mosi_mmsa; --recipe mmsa adds _recipe_mmsa."""
    study = 'lmf_{}'.format(name)
    if layout == 'mmsa' and dataset in hparams.PAPER_FAMILIES:
        study += '_mmsa'
    if recipe not in (None, 'ours'):
        study += '_recipe_{}'.format(recipe)
    return study


def main(argv=None):
    args = parse_args(argv)
    config = make_config(args)
    study, _, where = open_study(config, create=True)
    claim_run_folder(config, where)
    print('Study {} in {}: {} settings to try in all, {} sampler, space of {} settings; '
          'trials write to {}'.format(config['study'], where, config['trials'], config['sampler'],
                                      space_size(config['space']), os.path.join(config['out'], config['study'])),
          flush=True)
    if args.workers > 1:
        run_workers(config, args.workers)
    else:
        run_worker(config)
    summary(config)


if __name__ == '__main__':
    utils.run_cli(main)
