"""search.py's grid as Optuna samples it: hparams.search_space(family) with the lists of a --space JSON file, and
MMSA's joint choices (a tuple of names in search_space) as one categorical each of '/'-joined values."""
import json
import os

from lmf import hparams
from safe_io import UserError

JOINT_NAMES = {('audio_hidden', 'video_hidden', 'text_hidden'): 'hidden_sizes',
               ('audio_dropout', 'video_dropout', 'text_dropout'): 'dropouts'}
SEPARATOR = '/'


def value_text(value):
    """A value as train.py's flag takes it (floats by repr)."""
    return repr(value) if isinstance(value, float) else str(value)


def optuna_space(space):
    """({name: [scalar values]}, Optuna samples it: a joint choice is one categorical of '16/128/128' strings;
    {Optuna name: [its hyperparameters]} of the joint choices)."""
    flat, joint = {}, {}
    for key, values in space.items():
        if isinstance(key, tuple):
            flat[JOINT_NAMES[key]] = [SEPARATOR.join(map(value_text, v)) for v in values]
            joint[JOINT_NAMES[key]] = list(key)
        else:
            flat[key] = list(values)
    return flat, joint


def decode_params(params, joint):
    """A trial's Optuna params -> {hyperparameter: value}: joint choices split, typed by hparams.SPEC."""
    decoded = {}
    for key, value in params.items():
        if key in joint:
            decoded.update((n, hparams.BY_NAME[n].type(p)) for n, p in zip(joint[key], value.split(SEPARATOR)))
        else:
            decoded[key] = value
    return decoded


def space_size(space):
    size = 1
    for values in space.values():
        size *= len(values)
    return size


def load_space(path, family='iemocap'):
    """The family's grid, its lists replaced by those of the JSON file {name: [values]} at path (if any). A joint
    choice is given whole under its Optuna name, as lists in the tuple's order or 'a/v/t' strings."""
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
    members = {name: key for key in joint.values() for name in key}
    for name, values in given.items():
        key = joint.get(name, name)
        if name in members:
            whole, names = JOINT_NAMES[members[name]], ', '.join(members[name])
            raise UserError('--space {}: {} is part of the joint choice {} ({}); give {} as a list of [{}] '
                            'lists'.format(path, name, whole, names, whole, names))
        if key not in space:
            raise UserError('--space {}: unknown hyperparameter {!r} (known: {})'.format(
                path, name, ', '.join(JOINT_NAMES.get(k, k) for k in space)))
        if not isinstance(values, list) or not values:
            raise UserError('--space {}: {} must be a non-empty list of values, got {}'.format(
                path, name, json.dumps(values)))
        checked = [_joint_value(path, name, key, v) if isinstance(key, tuple) else _check(path, key, v)
                   for v in values]
        space[key] = list(dict.fromkeys(checked))  # repeated values count once
    return space


def _check(path, name, value, shown=None):
    """One scalar value of --space: of the hyperparameter's type and in its range."""
    integer = hparams.BY_NAME[name].type is int
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise UserError('--space {}: {} value {} is not {}'.format(
            path, shown or name, json.dumps(value), 'an integer' if integer else 'a number'))
    try:
        return hparams.check_value(name, value)
    except UserError as err:
        raise UserError('--space {}: {}'.format(path, str(err).lstrip('-')))


def _joint_value(path, name, names, value):
    """One value of joint choice `name` (of hyperparameters `names`): a list or an 'a/v/t' string -> a tuple."""
    if isinstance(value, str):
        parts = value.split(SEPARATOR)
        try:
            typed = [hparams.BY_NAME[n].type(p) for n, p in zip(names, parts)] if len(parts) == len(names) else None
        except ValueError:
            typed = None
        if typed is None:
            raise UserError('--space {}: {} value {} is not {} values joined by {!r} ({})'.format(
                path, name, json.dumps(value), len(names), SEPARATOR, ', '.join(names)))
        value = typed
    if not isinstance(value, list) or len(value) != len(names):
        raise UserError('--space {}: {} value {} is not a list of {} values [{}]'.format(
            path, name, json.dumps(value), len(names), ', '.join(names)))
    return tuple(_check(path, n, v, '{} ({})'.format(name, n)) for n, v in zip(names, value))
