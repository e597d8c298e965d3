"""search.py's grid as Optuna samples it: hparams.search_space(family) with the lists of a --space JSON file; a joint
choice (a tuple of names there: MMSA's hidden sizes, dropouts) is one categorical of '/'-joined values."""
import json
import math
import os

from lmf import hparams
from safe_io import UserError

JOINT_NAMES = {('audio_hidden', 'video_hidden', 'text_hidden'): 'hidden_sizes',
               ('audio_dropout', 'video_dropout', 'text_dropout'): 'dropouts'}


def value_text(value):  # as train.py's flag takes it
    return repr(value) if isinstance(value, float) else str(value)


def optuna_space(space):
    """({Optuna name: [scalar values]}, {joint choice's Optuna name: [its hyperparameters]})."""
    flat = {JOINT_NAMES.get(k, k): ['/'.join(map(value_text, v)) for v in vs] if isinstance(k, tuple) else list(vs)
            for k, vs in space.items()}
    return flat, {JOINT_NAMES[k]: list(k) for k in space if isinstance(k, tuple)}


def decode_params(params, joint):
    """A trial's Optuna params -> {hyperparameter: value}, the joint choices split and typed."""
    decoded = {key: value for key, value in params.items() if key not in joint}
    for key in (k for k in params if k in joint):
        decoded.update((n, hparams.BY_NAME[n].type(p)) for n, p in zip(joint[key], params[key].split('/')))
    return decoded


def space_size(space):
    return math.prod(len(values) for values in space.values())


def load_space(path, family='iemocap'):
    """The family's grid, the lists of the JSON file {name: [values]} at path (if any) in place of its own."""
    space = hparams.search_space(family)
    if path is None:
        return space
    if not os.path.isfile(path):
        raise UserError('--space {} does not exist'.format(path))
    try:
        with open(path) as f:
            given = json.load(f)
    except (ValueError, UnicodeDecodeError) as err:
        raise UserError('--space {} is not valid JSON ({})'.format(path, err))
    if not isinstance(given, dict):
        raise UserError('--space {}: expected a JSON object {{"rank": [1, 4], ...}}'.format(path))
    joint = {JOINT_NAMES[key]: key for key in space if isinstance(key, tuple)}
    for name, values in given.items():
        key, whole = joint.get(name, name), [j for j, names in joint.items() if name in names]
        if whole:
            names = ', '.join(joint[whole[0]])
            raise UserError('--space {}: {} is part of the joint choice {} ({}); give {} as a list of [{}] '
                            'lists'.format(path, name, whole[0], names, whole[0], names))
        if key not in space:
            raise UserError('--space {}: unknown hyperparameter {!r} (known: {})'.format(
                path, name, ', '.join(JOINT_NAMES.get(k, k) for k in space)))
        if not isinstance(values, list) or not values:
            raise UserError('--space {}: {} must be a non-empty list of values, got {}'.format(
                path, name, json.dumps(values)))
        space[key] = list(dict.fromkeys(_value(path, name, key, v) for v in values))  # repeated values count once
    return space


def _value(path, name, key, value):
    """One value of --space for key: a hyperparameter, or a joint choice (called name) as a list or 'a/v/t'."""
    joint, names = isinstance(key, tuple), key if isinstance(key, tuple) else (key,)
    if joint and isinstance(value, str):
        parts = value.split('/')
        try:
            value = [hparams.BY_NAME[n].type(p) for n, p in zip(names, parts)] if len(parts) == len(names) else None
        except ValueError:
            value = None
        if value is None:
            raise UserError('--space {}: {} value {} is not {} values joined by {!r} ({})'.format(
                path, name, json.dumps('/'.join(parts)), len(names), '/', ', '.join(names)))
    if joint and (not isinstance(value, list) or len(value) != len(names)):
        raise UserError('--space {}: {} value {} is not a list of {} values [{}]'.format(
            path, name, json.dumps(value), len(names), ', '.join(names)))
    checked = []
    for n, v in zip(names, value if joint else [value]):
        integer = hparams.BY_NAME[n].type is int
        if isinstance(v, bool) or not isinstance(v, int if integer else (int, float)):
            shown = '{} ({})'.format(name, n) if joint else n
            raise UserError('--space {}: {} value {} is not {}'.format(
                path, shown, json.dumps(v), 'an integer' if integer else 'a number'))
        try:
            checked.append(hparams.check_value(n, v))
        except UserError as err:
            raise UserError('--space {}: {}'.format(path, str(err).lstrip('-')))
    return tuple(checked) if joint else checked[0]
