"""Checkpoints: build an LMF or a TFN from settings, save one, and read one back safely.

A checkpoint (<name>.pdparams) is a pickle of {'format', 'state_dict' (numpy arrays), 'hparams' (the
run's settings), 'input_dims', 'model', 'modalities'}; the earlier Paddle 2.2 port's check/*.pkl files
are bare state dicts and load too. The architecture is read from the shapes; the recorded settings
are the source of everything else at test and export time.
"""
import os
import pickle

import numpy as np

from lmf import hparams
from safe_io import UserError, atomic_write, safe_load_pickle

def build_model(hp, input_dims, use_softmax=False):
    """LMF, or TFN when hp['model'] is 'tfn', from a hyperparameter dict (keys of MODEL_HPARAMS and
    DROPOUT_HPARAMS, linear_init; TFN: post_fusion_dim and post_fusion_dropout, default TFN_SETTING's),
    on the modalities hp['modalities'] names (default all three)."""
    from model import LMF, TFN
    modalities = hparams.modalities_of(hp)
    subnet_dropouts = (hp.get('audio_dropout', 0.0), hp.get('video_dropout', 0.0), hp.get('text_dropout', 0.0))
    # A left-out modality has no subnetwork: its hidden size is not read (the flag may be absent).
    hidden = tuple(hp.get(m + '_hidden', 0) if m in modalities else 0 for m in hparams.MODALITIES)
    text_out = hidden[2] // 2
    linear_init = hp.get('linear_init', 'paddle')
    if hparams.model_of(hp) == 'tfn':
        dropouts = subnet_dropouts + (hp.get('post_fusion_dropout', hparams.TFN_SETTING['post_fusion_dropout']),)
        return TFN(input_dims, hidden, text_out, dropouts,
                   hp.get('post_fusion_dim', hparams.TFN_SETTING['post_fusion_dim']), hp['output_dim'],
                   use_softmax=use_softmax, linear_init=linear_init, modalities=modalities)
    return LMF(input_dims, hidden, text_out, subnet_dropouts + (hparams.POST_FUSION_DROPOUT,), hp['output_dim'],
               hp['rank'], use_softmax=use_softmax, linear_init=linear_init, modalities=modalities)


CHECKPOINT_FORMAT = 'lmf-paddle-checkpoint-v1'


def save_checkpoint(path, model, hp, input_dims):
    """Write {'state_dict', 'hparams', 'input_dims', 'model', 'modalities'} atomically (atomic_write,
    with fsync). 'model' ('lmf' or 'tfn') and 'modalities' (e.g. 'audio,text') are the built model's."""
    from model import TFN
    state = {name: tensor.numpy() for name, tensor in model.state_dict().items()}
    payload = {'format': CHECKPOINT_FORMAT, 'state_dict': state, 'hparams': dict(hp),
               'input_dims': [int(d) for d in input_dims], 'model': 'tfn' if isinstance(model, TFN) else 'lmf',
               'modalities': ','.join(model.modalities)}
    with atomic_write(path, 'wb', fsync=True) as f:
        pickle.dump(payload, f, protocol=4)


def checkpoint_file(check_path, name, default_dir='check', dataset='iemocap'):
    """--check_path as given: a file, or a folder holding <name>.pdparams (or the seed's <emotion>.pkl)."""
    path = check_path or default_dir
    if os.path.isdir(path):
        candidates = [os.path.join(path, name + ext) for ext in ('.pdparams', '.pkl')]
        found = [c for c in candidates if os.path.isfile(c)]
        if not found:
            raise UserError('--check_path {}: no {}.pdparams in that folder; train it first ({}bash train.sh)'.format(
                path, name, '' if dataset == 'iemocap' else 'DATASET={} '.format(dataset)))
        return found[0]
    if not os.path.isfile(path):
        raise UserError('--check_path {} does not exist'.format(path))
    return path


# A state dict's marker parameter, per model: LMF's factors, TFN's post-fusion network.
STATE_MARKERS = {'lmf': 'audio_factor', 'tfn': 'post_fusion_layer_1.weight'}
# A modality's subnetwork is in a state dict when this parameter is (its BatchNorm, or the text LSTM).
SUBNET_MARKERS = {'audio': 'audio_subnet.norm.weight', 'video': 'video_subnet.norm.weight',
                  'text': 'text_subnet.rnn.weight_ih_l0'}
MODEL_NAMES = {'lmf': 'LMF', 'tfn': 'TFN'}
A_MODEL = {'lmf': 'an LMF', 'tfn': 'a TFN'}


def read_checkpoint(path):
    """(state_dict of numpy arrays, hparams dict or None, recorded input_dims or None, recorded model dict).

    Reads our .pdparams files (LMF or TFN) and the seed's flat state-dict .pkl files (LMF), both safely.
    The recorded model dict has the 'model' and 'modalities' the checkpoint records (none: {}, which
    checkpoint_model() reads as LMF on all three modalities).
    """
    raw = safe_load_pickle(path, 'checkpoint')
    dims, recorded = None, {}
    if isinstance(raw, dict) and raw.get('format') == CHECKPOINT_FORMAT:
        state, hp, dims = raw['state_dict'], raw.get('hparams'), raw.get('input_dims')
        recorded = {k: raw[k] for k in hparams.MODEL_KEYS if k in raw}
    else:
        state, hp = raw, None
    if not isinstance(state, dict) or not any(marker in state for marker in STATE_MARKERS.values()):
        raise UserError('checkpoint {} is not an LMF or TFN state dict (no audio_factor or '
                        'post_fusion_layer_1.weight)'.format(path))
    # paddle.save adds a name-mapping entry that is not a parameter.
    state = {k: np.asarray(v) for k, v in state.items() if isinstance(v, np.ndarray)}
    return state, hp, (None if dims is None else tuple(int(d) for d in dims)), recorded


def load_checkpoint(path):
    """Returns (state_dict of numpy arrays, hparams dict or None); see read_checkpoint. Which model the
    state is and its modalities: checkpoint_model()."""
    state, hp, _, _ = read_checkpoint(path)
    return state, hp


def checkpoint_model(state, saved, path='checkpoint'):
    """(model, modalities tuple) of a checkpoint: what it records (`saved`: read_checkpoint's recorded
    model dict; absent: LMF on all three, as every checkpoint before TFN and --modalities, and the
    earlier port's bare state dicts), checked against what its state dict holds, so that neither is
    misread as the other."""
    holds = [kind for kind, marker in STATE_MARKERS.items() if marker in state]
    recorded = hparams.model_of(saved)
    if holds != [recorded]:
        raise UserError('checkpoint {} records {} model but holds {} parameters'.format(
            path, A_MODEL[recorded], ' and '.join(MODEL_NAMES[k] for k in holds)))
    modalities = hparams.modalities_of(saved)
    present = tuple(m for m in hparams.MODALITIES if SUBNET_MARKERS[m] in state)
    if present != modalities:
        raise UserError('checkpoint {} records modalities {} but holds subnetworks of {}'.format(
            path, ','.join(modalities), ','.join(present) or 'none'))
    return recorded, modalities


def shape_hparams(state, path='checkpoint', model='lmf', modalities=hparams.MODALITIES, input_dims=None):
    """The hyperparameters that a state dict's shapes determine, and its input dims. A modality the
    model leaves out has no hidden size here, and its input size is the recorded input_dims'."""
    try:
        if model == 'tfn':
            hp = dict(output_dim=state['post_fusion_layer_3.weight'].shape[1],
                      post_fusion_dim=state['post_fusion_layer_1.weight'].shape[1])
            widths = {m: state['{}_subnet.linear_3.weight'.format(m)].shape[1]
                      for m in ('audio', 'video') if m in modalities}
        else:
            audio_factor = state['audio_factor']
            hp = dict(rank=audio_factor.shape[0], output_dim=audio_factor.shape[2])
            widths = {m: state[m + '_factor'].shape[1] - 1 for m in ('audio', 'video') if m in modalities}
        hp.update(('{}_hidden'.format(m), width) for m, width in widths.items())
        if 'text' in modalities:
            hp['text_hidden'] = state['text_subnet.rnn.weight_hh_l0'].shape[1]
        if input_dims is None and len(modalities) < len(hparams.MODALITIES):
            raise UserError('{} records no input sizes, which a model without {} needs'.format(
                path, ', '.join(m for m in hparams.MODALITIES if m not in modalities)))
        # a fused modality's input size: its BatchNorm's width, or the LSTM's input width
        dims = tuple(state[SUBNET_MARKERS[m]].shape[1 if m == 'text' else 0] if m in modalities else input_dims[i]
                     for i, m in enumerate(hparams.MODALITIES))
    except (KeyError, IndexError) as err:
        raise UserError('{} is missing {} parameters ({})'.format(path, MODEL_NAMES.get(model, model), err))
    return {k: int(v) for k, v in hp.items()}, tuple(int(d) for d in dims)


def model_from_checkpoint(path, name, overrides=None, use_softmax=False, dataset='iemocap'):
    """Build an LMF or a TFN (the checkpoint says which, and its modalities) in eval mode from the
    checkpoint of model `name` (an emotion, or the dataset).

    Shapes decide the architecture; flags in `overrides` that contradict it, and a checkpoint
    trained on another dataset or emotion, are a UserError naming the flag. overrides may hold
    'model' and 'modalities' (export_model.py's --model, --modalities): they must be the checkpoint's.
    A left-out modality's hidden size and dropout, and LMF's rank under TFN, are not checked (unused).
    Returns (model, hparams, input_dims).
    """
    import paddle
    state, saved, recorded_dims, recorded = read_checkpoint(path)
    kind, modalities = checkpoint_model(state, recorded, path)
    hp, input_dims = shape_hparams(state, path, kind, modalities, recorded_dims)
    flat = saved is None  # a bare state dict: the earlier LMF_Paddle port's, all IEMOCAP
    saved = saved or {}
    # Our checkpoints record the dataset (those written before CMU-MOSI/POM existed are IEMOCAP's).
    trained_on = saved.get('dataset', 'iemocap')
    if trained_on != dataset:
        raise UserError('--dataset {} contradicts checkpoint {}, which {}'.format(
            dataset, path, 'is a bare state dict as the earlier port wrote for IEMOCAP' if flat else
            'was trained on {}{}'.format(trained_on, ' ({})'.format(saved['emotion']) if saved.get('emotion') else '')))
    trained_for = saved.get('emotion')
    if dataset == 'iemocap' and trained_for and trained_for != name:
        raise UserError('--emotion {} contradicts checkpoint {}, which was trained for {}'.format(
            name, path, trained_for))
    overrides = dict(overrides or {})
    wanted_model = overrides.pop('model', None)
    if wanted_model is not None and wanted_model != kind:
        raise UserError('--model {} contradicts checkpoint {}, which is {} model'.format(
            wanted_model, path, A_MODEL[kind]))
    wanted_modalities = overrides.pop('modalities', None)
    if wanted_modalities is not None and hparams.parse_modalities(wanted_modalities) != ','.join(modalities):
        raise UserError('--modalities {} contradicts checkpoint {}, which fuses {}'.format(
            wanted_modalities, path, ','.join(modalities)))
    for flag, value in overrides.items():
        if flag in hp and hp[flag] != value:
            raise UserError('--{} {} contradicts checkpoint {}, which has {} {}'.format(
                flag, value, path, flag, hp[flag]))
    # Dropouts do not change evaluation; take them from the checkpoint, the flags or the table.
    rest = hparams.published_hparams(dataset, name if dataset == 'iemocap' else None,
                                     saved.get('trait') if dataset == 'pom' else None, saved.get('layout'))
    rest.update({k: v for k, v in saved.items() if k not in hp})
    rest.update({k: v for k, v in overrides.items() if k not in hp})
    hp = dict(rest, **hp)
    hp.update(model=kind, modalities=','.join(modalities))
    if kind == 'tfn':
        for key in hparams.LMF_ONLY:  # the published table's LMF values do not describe a TFN
            hp.pop(key, None)
    model = build_model(hp, input_dims, use_softmax=use_softmax)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise UserError('checkpoint {} does not fit {}: missing {} unexpected {}'.format(
            path, MODEL_NAMES[kind], missing[:5], unexpected[:5]))
    for name, tensor in expected.items():
        if list(tensor.shape) != list(state[name].shape):
            raise UserError('checkpoint {}: {} has shape {}, model expects {}'.format(
                path, name, list(state[name].shape), list(tensor.shape)))
    model.set_state_dict({k: paddle.to_tensor(v.astype(np.float32)) for k, v in state.items()})
    model.eval()
    return model, hp, input_dims
