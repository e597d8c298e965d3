"""The hyperparameter specification and the tasks: every hyperparameter once (type, allowed range,
command-line help, the authors' search grid, per-dataset default), and the published values of
every task (an IEMOCAP emotion, CMU-MOSI, a POM trait's row, and the settings behind MMSA's
published LMF rows for its feature files of CMU-MOSI, CMU-MOSEI, CH-SIMS and CH-SIMS v2).

Settings are chosen per family: the dataset itself for the paper's three pickles ('iemocap',
'mosi', 'pom'), and 'mmsa' for MMSA's feature files (any of the four MMSA datasets; CMU-MOSI
has both layouts, so its family is known once the file is read: family(dataset, layout)).

The scripts build their flags (add_hparam_args), range checks (check_hparams) and search space
(search_space) from SPEC; train.sh, run_lfm.sh, search.py, reproduce.py and the TIPC configs take
the published values from here; the tables in README.md and docs/ are tested against them
(tests/test_docs.py). Adding a hyperparameter is one entry in SPEC (and a column of PUBLISHED if
it has published values).
"""
import collections

from data import DATASETS, MMSA_ONLY  # noqa: F401 (the datasets there are readers for; hparams.X for the scripts)
from data.common import LAYOUT_NAMES
from safe_io import UserError

# One hyperparameter. Allowed values: > low (low_open) or >= low, and < high if given. grid: the search values, a
# list (every family), or {family: list}. dataset_default: {family: value} for settings every task of a family
# shares (the rest come from PUBLISHED); families: FAMILIES.
# high_closed: <= high.
HParam = collections.namedtuple(
    'HParam', 'name type low group help high low_open grid dataset_default note high_closed',
    defaults=(None, False, None, {}, '', False))


PAPER_FAMILIES = ('iemocap', 'mosi', 'pom')  # the paper's three pickles
FAMILIES = PAPER_FAMILIES + ('mmsa',)


def by_family(values, families=PAPER_FAMILIES):
    return {family: list(values) for family in families}


DROPOUTS = [0, 0.1, 0.15, 0.2, 0.3, 0.5]
AUTHORS_RATES = by_family([0.0003, 0.0005, 0.001, 0.003])
# Order: the training length, the 11 the authors search in their CSV's column order, then the rest.
# group: which part of the code reads it (the model, the model's dropouts, or training).
SPEC = (
    # MMSA trains without an epoch limit; 1000 is a cap its runs never reach (they stop within ~60).
    HParam('epochs', int, 1, 'train', 'most epochs (early stopping usually ends sooner)',
           dataset_default={'iemocap': 100, 'mosi': 500, 'pom': 500, 'mmsa': 1000}),
    HParam('patience', int, 1, 'train', 'epochs without a better validation loss before stopping',
           dataset_default={'iemocap': 20, 'mosi': 20, 'pom': 20, 'mmsa': 8}),
    HParam('audio_hidden', int, 1, 'model', 'audio subnetwork width',
           grid={'iemocap': [8, 16, 32], 'mosi': [4, 8, 16], 'pom': [4, 8, 16]}),
    HParam('video_hidden', int, 1, 'model', 'video subnetwork width', grid=by_family([4, 8, 16])),
    HParam('text_hidden', int, 2, 'model', 'text LSTM width', grid=by_family([64, 128, 256]),
           note='the text output is text_hidden // 2'),
    HParam('audio_dropout', float, 0, 'dropout', 'audio subnetwork dropout', high=1, grid=by_family(DROPOUTS)),
    HParam('video_dropout', float, 0, 'dropout', 'video subnetwork dropout', high=1, grid=by_family(DROPOUTS)),
    HParam('text_dropout', float, 0, 'dropout', 'text subnetwork dropout', high=1, grid=by_family(DROPOUTS)),
    HParam('factor_learning_rate', float, 0, 'train', 'Adam rate of the three modality factors', low_open=True,
           grid=dict(AUTHORS_RATES, mmsa=[0.0001, 0.0005, 0.001])),
    HParam('learning_rate', float, 0, 'train', 'Adam rate of everything else', low_open=True,
           grid=dict(AUTHORS_RATES, mmsa=[0.0005, 0.001, 0.002, 0.005])),
    HParam('rank', int, 1, 'model', 'rank of the fusion factors',
           grid=dict(by_family([1, 4, 8, 16]), mmsa=[3, 4, 5, 6])),
    HParam('batch_size', int, 1, 'train', 'samples per batch',
           grid={'iemocap': [8, 16, 32, 64, 128], 'mosi': [4, 8, 16, 32, 64, 128], 'pom': [4, 8, 16, 32, 64, 128],
                 'mmsa': [32, 64, 128]}),
    HParam('weight_decay', float, 0, 'train', "Adam's L2 weight decay",
           grid=dict(by_family([0, 0.001, 0.002, 0.01]), mmsa=[0, 0.0001, 0.001, 0.005])),
    HParam('seed', int, 0, 'train', 'seed of initialisation, dropout and batch order', high=2 ** 32),
    # No default: a run trained clean has no train_missing in its settings (its records stay as they were).
    HParam('train_missing', float, 0, 'train', 'share of the training samples given random missing at a rate drawn '
           'from [0, 1), new draws every epoch (lmf/missing.py; validation stays clean)', high=1, high_closed=True),
    HParam('output_dim', int, 1, 'model', 'IEMOCAP: classes (2); CMU-MOSI/POM: must equal the label count of the file',
           dataset_default={'iemocap': 2}),
)
BY_NAME = {h.name: h for h in SPEC}


def names(group=None):
    return tuple(h.name for h in SPEC if group is None or h.group == group)


MODEL_HPARAMS = names('model')
DROPOUT_HPARAMS = names('dropout')
# MMSA tunes these as lists (config_tune.json; hidden sizes in its order text/audio/video, here
# audio/video/text). Its dropout lists [.3,.3,.3,.5] and [.3]*4 differ only in the post-fusion
# dropout, which LMF does not apply: one choice here.
JOINT_GRIDS = {'mmsa': {
    ('audio_hidden', 'video_hidden', 'text_hidden'): [(16, 128, 128), (16, 64, 64), (32, 128, 128), (32, 256, 256),
                                                      (32, 64, 64)],
    ('audio_dropout', 'video_dropout', 'text_dropout'): [(0.3, 0.3, 0.3), (0.2, 0.2, 0.2), (0.4, 0.4, 0.4)],
}}
SEARCH_HPARAMS = tuple(h.name for h in SPEC if h.grid is not None)
SEARCH_FIXED = tuple(h.name for h in SPEC if h.grid is None and h.group == 'train')  # epochs, patience, seed
TABLE_COLUMNS = SEARCH_HPARAMS + ('seed',)  # the columns of PUBLISHED
POST_FUSION_DROPOUT = 0.5  # not a hyperparameter: every script of the paper and the earlier port uses 0.5

# The published values, one row per task, in TABLE_COLUMNS order:
#  audio video text hidden | audio video text dropout | factor lr, lr | rank | batch | weight decay | seed
PUBLISHED = {
    # IEMOCAP, per emotion: the earlier Paddle port's train.sh and check/*.pkl (seeds included).
    'iemocap': {
        'happy': (4, 16, 128, 0.3, 0.1, 0.5, 0.001, 0.001, 1, 128, 0.002, 2967694878),
        'sad': (8, 4, 128, 0.0, 0.0, 0.0, 0.002, 0.001, 4, 64, 0.002, 2290532931),
        'angry': (8, 4, 64, 0.3, 0.1, 0.15, 0.003, 0.0005, 8, 64, 0.001, 2528475277),
        'neutral': (32, 8, 64, 0.2, 0.5, 0.2, 0.003, 0.0005, 16, 16, 0.002, 3202492277),
    },
    # CMU-MOSI: hidden sizes and rank from the paper; the authors lost the rest, so dropouts,
    # rates, batch size, weight decay and seed are our choice from their grid: the best mean
    # validation MAE of five candidates (docs/datasets.md).
    'mosi': {
        'mosi': (32, 32, 64, 0.15, 0.15, 0.15, 0.003, 0.0005, 4, 32, 0.002, 0),
    },
    # POM: the authors' hyperparams.txt, the best setting per trait (its row names). One model predicts
    # all traits; --trait picks the row (POM_TRAIT_ROWS). The seed is our choice.
    'pom': {
        'Confidence': (16, 16, 64, 0.3, 0.5, 0.2, 0.0005, 0.001, 4, 16, 0.0, 0),
        'Passion': (16, 16, 64, 0.3, 0.5, 0.2, 0.0005, 0.001, 4, 16, 0.0, 0),
        'Pleasant': (16, 16, 256, 0.1, 0.15, 0.5, 0.0003, 0.003, 1, 128, 0.0, 0),
        'Dominance': (8, 8, 64, 0.1, 0.2, 0.2, 0.003, 0.0003, 4, 8, 0.0, 0),
        'Vivid': (16, 8, 64, 0.15, 0.15, 0.15, 0.003, 0.0005, 16, 32, 0.01, 0),
        'Expertise': (8, 16, 64, 0.2, 0.15, 0.3, 0.003, 0.0003, 16, 16, 0.001, 0),
        'Entertaining': (8, 8, 64, 0.2, 0.2, 0.15, 0.0005, 0.001, 8, 8, 0.0, 0),
        'Reserve': (8, 16, 64, 0.5, 0.1, 0.15, 0.003, 0.0003, 16, 8, 0.001, 0),
        'Trusting': (16, 8, 128, 0.1, 0.5, 0.15, 0.0003, 0.001, 16, 16, 0.0, 0),
        'Relaxed': (8, 8, 64, 0.5, 0.1, 0.2, 0.0005, 0.0003, 8, 16, 0.0, 0),
        'Outgoing': (16, 16, 256, 0.1, 0.15, 0.2, 0.003, 0.0005, 4, 16, 0.01, 0),
        'Nervous': (4, 8, 256, 0.0, 0.5, 0.1, 0.003, 0.003, 8, 64, 0.0, 0),
        'Sentiment': (16, 16, 64, 0.5, 0.5, 0.2, 0.003, 0.001, 4, 8, 0.002, 0),
        'Humorous': (8, 8, 64, 0.5, 0.2, 0.15, 0.003, 0.001, 4, 4, 0.001, 0),
    },
    # MMSA's feature files, per dataset: the settings behind MMSA's published LMF rows (its v1 config
    # of Feb 2021; CH-SIMS v2 has only its current config). Seed: MMSA's first, 1111 (--seeds N: 1111..).
    # MMSA also lists a post-fusion dropout, which LMF does not apply.
    'mmsa': {
        'mosi': (32, 256, 256, 0.3, 0.3, 0.3, 0.001, 0.001, 4, 32, 0.0001, 1111),
        'mosei': (16, 128, 128, 0.4, 0.4, 0.4, 0.0001, 0.0005, 5, 64, 0.005, 1111),
        'sims': (32, 256, 256, 0.2, 0.2, 0.2, 0.001, 0.002, 3, 32, 0.005, 1111),
        'simsv2': (32, 64, 64, 0.3, 0.3, 0.3, 0.0005, 0.002, 4, 32, 0.0001, 1111),
    },
}
HPARAMS = {family: {task: dict(zip(TABLE_COLUMNS, row)) for task, row in rows.items()}
           for family, rows in PUBLISHED.items()}
# Not hyperparameters, but per dataset too. linear_init: IEMOCAP keeps the earlier Paddle port's
# Linear initialisation (Paddle's default); CMU-MOSI and POM, which that port never had, take the
# authors' (PyTorch's): with Paddle's, CMU-MOSI learned clearly worse than their code
# (BENCHMARKS.md, "Learning parity"). MMSA's code is PyTorch too.
FAMILY_SETTINGS = {'iemocap': {}, 'mosi': dict(linear_init='torch'), 'pom': dict(linear_init='torch'),
                   'mmsa': dict(linear_init='torch')}

# ---------------------------------------------------------------- the fusion model and its modalities

MODELS = ('lmf', 'tfn')  # train.py --model: LMF (the default) or TFN, the full tensor fusion it is compared with
DEFAULT_MODEL = 'lmf'
# train.py --modalities: the modalities fused (model.MODALITIES, in this order); default all three.
MODALITIES = ('audio', 'video', 'text')
ALL_MODALITIES = ','.join(MODALITIES)
MODALITY_HPARAMS = {m: (m + '_hidden', m + '_dropout') for m in MODALITIES}  # unused when m is left out
LMF_ONLY = ('rank', 'factor_learning_rate')  # TFN has no factors: every parameter trains at learning_rate
MODEL_KEYS = ('model', 'modalities')  # which model a checkpoint holds (absent: LMF on all three modalities)
# TFN's own hyperparameters (not LMF's: they are not in SPEC, LMF has no post-fusion network).
TFN_SPEC = (
    HParam('post_fusion_dim', int, 1, 'tfn', 'TFN (--model tfn): width of its two hidden post-fusion layers'),
    HParam('post_fusion_dropout', float, 0, 'tfn', 'TFN (--model tfn): dropout on its fused tensor', high=1),
)
BY_NAME.update((h.name, h) for h in TFN_SPEC)
TFN_HPARAMS = tuple(h.name for h in TFN_SPEC)
# TFN's settings are our choice (the TFN paper gives no per-task table for these files). Subnetwork
# sizes: the setting at which the LMF paper compares LMF with TFN (its Table 3; speed.py's
# PAPER_SETTING): audio and video hidden 32, text hidden 128 (text out 64), so the fused tensor has
# (32+1)(32+1)(64+1) = 70,785 values. LMF's own settings would not do for MMSA's files: CMU-MOSI's
# 32/256/256 (text out 128) gives (33)(257)(129) = 1,094,049. Post-fusion width 128 (speed.py's TFN)
# and dropout 0.5, the post-fusion rate every script of the paper passes (hparams.POST_FUSION_DROPOUT),
# which TFN applies. The subnetwork dropouts, rates, batch size, weight decay and seed stay the task's.
TFN_SETTING = dict(audio_hidden=32, video_hidden=32, text_hidden=128, post_fusion_dim=128, post_fusion_dropout=0.5)
TFN_SETTINGS = {family: dict(TFN_SETTING) for family in FAMILIES}


def parse_modalities(text, flag='--modalities'):
    """'text,audio' -> 'audio,text': a non-empty subset of MODALITIES in any order, written in MODALITIES
    order (the form hyperparameter dicts, checkpoints and logs hold). A UserError naming flag otherwise."""
    names = [part.strip() for part in str(text).split(',')] if text is not None else []
    if not any(names):
        raise UserError('{} must name at least one of {}, got {!r}'.format(flag, ', '.join(MODALITIES), text))
    for name in names:
        if name not in MODALITIES:
            raise UserError('{}: {} in {!r}; choose a comma-separated subset of {}'.format(
                flag, 'an empty name' if not name else 'unknown modality {!r}'.format(name), text,
                ', '.join(MODALITIES)))
    return ','.join(m for m in MODALITIES if m in names)


def modalities_of(hp):
    """The modalities hp's model fuses, as a tuple in MODALITIES order (absent: all three)."""
    value = (hp or {}).get('modalities') or ALL_MODALITIES
    return tuple(parse_modalities(','.join(value) if isinstance(value, (list, tuple)) else value).split(','))


def model_of(hp):
    """'lmf' or 'tfn': the model hp builds (absent: LMF, as every checkpoint written before TFN trained)."""
    model = (hp or {}).get('model') or DEFAULT_MODEL
    if model not in MODELS:
        raise UserError('unknown model {!r}; one of {}'.format(model, ', '.join(MODELS)))
    return model


def fusion_hparams(hp, model=DEFAULT_MODEL, modalities=None):
    """hp (a task's published settings) for `model` on `modalities` (None: all three): records both in
    hp; TFN takes TFN_SETTINGS of the family and drops LMF_ONLY. Explicit flags go on top afterwards."""
    hp = dict(hp, model=model, modalities=parse_modalities(ALL_MODALITIES if modalities is None else modalities))
    if model not in MODELS:
        raise UserError('--model: unknown model {!r}; choose one of {}'.format(model, ', '.join(MODELS)))
    if model == 'tfn':
        hp.update(TFN_SETTINGS[family(hp['dataset'], hp.get('layout'))])
        for name in LMF_ONLY:
            hp.pop(name, None)
    return hp


def unused_hparams(hp):
    """The keys of hp its model does not use: a left-out modality's hidden size and dropout, LMF's rank
    and factor rate under TFN, TFN's own under LMF."""
    model, fused = model_of(hp), modalities_of(hp)
    unused = [n for m in MODALITIES if m not in fused for n in MODALITY_HPARAMS[m]]
    unused += list(LMF_ONLY if model == 'tfn' else TFN_HPARAMS)
    return tuple(n for n in unused if n in hp)


# ---------------------------------------------------------------- tasks

MMSA_DATASETS = tuple(PUBLISHED['mmsa'])  # readable in MMSA's layout; MMSA_ONLY (data/): only in that layout
assert set(MMSA_ONLY) == set(MMSA_DATASETS) - set(PAPER_FAMILIES) and set(DATASETS) >= set(MMSA_DATASETS)
LAYOUTS = ('authors', 'mmsa')  # the paper's processed pickles, MMSA's feature files
REGRESSION = tuple(d for d in DATASETS if d != 'iemocap')  # L1 loss, evaluated as regression
# --recipe: 'ours' (default) trains every parameter and applies the text dropout; 'mmsa' is MMSA's LMF
# training exactly, with its two defects: fusion_weights and fusion_bias never trained, text dropout 0.
RECIPES = ('ours', 'mmsa')
EMOTIONS = tuple(PUBLISHED['iemocap'])
# --trait: the 16 POM traits (and the Sentiment column of older 17-label copies) -> their hyperparams.txt row
POM_TRAIT_ROWS = dict({name: name for name in PUBLISHED['pom']}, Passionate='Passion', Dominant='Dominance',
                      Reserved='Reserve', Credible='Confidence', Thorough='Confidence', Persuasive='Confidence')
DEFAULT_TRAIT = 'Confidence'
IDENTITY_KEYS = ('dataset', 'emotion', 'trait', 'layout')  # which task a hyperparameter dict belongs to


def default_layout(dataset):
    """The layout a dataset's files have unless the file says otherwise (only CMU-MOSI has both)."""
    return 'mmsa' if dataset in MMSA_ONLY else 'authors'


def family(dataset, layout=None):
    """Which settings a task takes: the dataset's own (the paper's pickles), or 'mmsa' (MMSA's files)."""
    layout = layout or default_layout(dataset)
    if layout not in LAYOUTS:
        raise UserError('unknown layout {!r}; one of {}'.format(layout, ', '.join(LAYOUTS)))
    if layout == 'mmsa' and dataset not in MMSA_DATASETS:
        raise UserError('--dataset {} has no MMSA feature file; MMSA has {}'.format(dataset, ', '.join(MMSA_DATASETS)))
    if layout == 'authors' and dataset in MMSA_ONLY:
        raise UserError('--dataset {} exists only as MMSA feature files'.format(dataset))
    return 'mmsa' if layout == 'mmsa' else dataset


def model_name(dataset, emotion=None):
    """What a model is called in file names (check/<name>.pdparams, ...): the emotion for IEMOCAP, else the dataset."""
    return emotion if dataset == 'iemocap' else dataset


def model_names(dataset):
    """The models a dataset trains (train.sh / run_lfm.sh): the four emotions, or the dataset itself."""
    if dataset not in DATASETS:
        raise UserError('DATASET={}: unknown dataset; choose one of {}'.format(dataset, ', '.join(DATASETS)))
    return EMOTIONS if dataset == 'iemocap' else (dataset,)


def published_hparams(dataset, emotion=None, trait=None, layout=None):
    """The published hyperparameters of one task with its family's defaults (epochs, patience, ...)
    and the keys that say which task it is: dataset and layout, plus emotion (IEMOCAP) or trait (POM).
    layout: 'authors' or 'mmsa' (default: the dataset's usual one, see default_layout)."""
    if dataset not in DATASETS:
        raise UserError('--dataset: unknown dataset {!r}; choose one of {}'.format(dataset, ', '.join(DATASETS)))
    if dataset != 'iemocap' and emotion is not None:
        raise UserError('--emotion selects an IEMOCAP model; --dataset {} has none'.format(dataset))
    if dataset != 'pom' and trait is not None:
        raise UserError('--trait selects a row of the POM hyperparameters; it does not apply to --dataset {}'.format(
            dataset))
    layout = layout or default_layout(dataset)
    settings = family(dataset, layout)
    hp = {h.name: h.dataset_default[settings] for h in SPEC if settings in h.dataset_default}
    hp.update(FAMILY_SETTINGS[settings], dataset=dataset)
    if layout == 'mmsa':  # absent means the authors' layout: the paper's tasks keep the settings they were recorded with
        hp['layout'] = layout
    if settings == 'mmsa':
        hp.update(HPARAMS['mmsa'][dataset], recipe='ours')
    elif dataset == 'iemocap':
        emotion = 'happy' if emotion is None else emotion
        if emotion not in HPARAMS['iemocap']:
            raise UserError('--emotion: unknown emotion {!r}; choose one of {}'.format(emotion, ', '.join(EMOTIONS)))
        hp.update(HPARAMS['iemocap'][emotion], emotion=emotion)
    elif dataset == 'pom':  # the trait as POM_TRAIT_ROWS spells it, from any letter case
        trait = DEFAULT_TRAIT if trait is None else trait
        name = next((n for n in POM_TRAIT_ROWS if n.lower() == str(trait).lower()), None)
        if name is None:
            raise UserError('--trait: unknown trait {!r}; choose one of {}'.format(trait, ', '.join(POM_TRAIT_ROWS)))
        hp.update(HPARAMS['pom'][POM_TRAIT_ROWS[name]], trait=name)
    else:
        hp.update(HPARAMS[dataset][dataset])
    return hp


def resolve(dataset='iemocap', emotion=None, trait=None, layout=None, recipe=None, model=None, modalities=None,
            flags=None, data=None, data_path=None):
    """The settings of one run, resolved in one place: the specification's per-family defaults and the task's
    published row for a file of `layout`, TFN's settings for model 'tfn', the modalities fused, the flags
    given (a dict; LMF's rank and factor rate are ignored for TFN), the recipe (MMSA's files only), and, when
    `data` (the run's training split, a data.common.Split) is given, what the file decides: its layout,
    output_dim (regression: the label count) and seq_len (text steps). Every value is range-checked; a bad
    one is a UserError naming its flag. data_path names the file in errors. Nothing changes the result later.
    """
    layout = data.layout if data is not None and layout is None else layout
    model = model or DEFAULT_MODEL
    hp = fusion_hparams(published_hparams(dataset, emotion, trait, layout), model, modalities)
    hp.update({k: v for k, v in (flags or {}).items() if not (model == 'tfn' and k in LMF_ONLY)})
    if recipe == 'mmsa' and model == 'tfn':
        raise UserError("--recipe mmsa is MMSA's LMF training (its defects are LMF's fusion weights); "
                        '--model tfn trains with --recipe ours')
    if recipe is not None:
        if hp.get('layout', 'authors') != 'mmsa' and recipe != 'ours':
            raise UserError("--recipe {}: MMSA's training applies to MMSA's feature files; {} is {}".format(
                recipe, data_path or 'the data file', LAYOUT_NAMES[hp.get('layout', 'authors')]))
        if hp.get('layout') == 'mmsa':
            hp['recipe'] = recipe
    return check_hparams(hp if data is None else with_data(hp, data, data_path))


def with_data(hp, data, data_path=None):
    """hp (resolved settings) for a file: its layout must be hp's; regression takes the file's label
    count as output_dim; seq_len is its text length. A new dict (hp is left as it is)."""
    if data.layout != hp.get('layout', 'authors'):
        raise UserError('{} is {}, but these settings are for {}'.format(
            data_path, LAYOUT_NAMES[data.layout], LAYOUT_NAMES[hp.get('layout', 'authors')]))
    return dict(hp, output_dim=int(data.labels.shape[1]) if hp['dataset'] in REGRESSION else hp['output_dim'],
                seq_len=int(data.text.shape[1]))


def emotion_hparams(emotion):
    """Published hyperparameters (plus epochs, patience, output_dim) of one IEMOCAP emotion."""
    return published_hparams('iemocap', emotion)


def task_of(args):
    """(dataset, model name, published hyperparameters) from --dataset, --emotion and --trait."""
    hp = published_hparams(args.dataset, args.emotion, getattr(args, 'trait', None))
    return args.dataset, model_name(args.dataset, hp.get('emotion')), hp


# ---------------------------------------------------------------- flags, checks, search space

def add_task_args(parser, trait=True, trait_use='to train with'):
    """--dataset, --emotion and (for training) --trait: which model a script works on. trait_use: what the
    script takes from the trait's row, for the help."""
    parser.add_argument('--dataset', choices=DATASETS, default='iemocap',
                        help='iemocap (default; one model per --emotion), mosi (the authors\' pickle or MMSA\'s '
                             'feature file), pom, or MMSA\'s mosei, sims, simsv2')
    parser.add_argument('--emotion', type=str, default=None,
                        help='IEMOCAP only: one of {} (default happy)'.format(', '.join(EMOTIONS)))
    if trait:
        parser.add_argument('--trait', type=str, default=None,
                            help="POM only: the row of the authors' hyperparams.txt {} (default {}); the model "
                                 'predicts all traits'.format(trait_use, DEFAULT_TRAIT))


def default_text(spec):
    """Where a flag's value comes from when not given, for its help: e.g. '100 for iemocap, 500 for mosi and pom'."""
    if not spec.dataset_default:
        return "the task's published value"
    values = {}
    for dataset, value in spec.dataset_default.items():
        values.setdefault(value, []).append(dataset)
    if len(values) == 1 and len(spec.dataset_default) == len(FAMILIES):
        return str(next(iter(values)))
    return ', '.join('{} for {}'.format(value, ' and '.join("MMSA's files" if f == 'mmsa' else f for f in families))
                     for value, families in values.items())


def add_hparam_args(parser, which=None, default=None):
    """A --flag per hyperparameter in `which` (default: the model's and its dropouts), None when not
    given. default: where the value then comes from, for the help (default: the published value)."""
    for name in which or names('model') + names('dropout'):
        spec = BY_NAME[name]
        parser.add_argument('--' + name, type=spec.type, default=None, help='{} ({}; default {})'.format(
            spec.help, allowed(spec), default or default_text(spec)))


def explicit_hparams(args, names):
    """The hyperparameters among `names` that the user gave on the command line."""
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def allowed(spec):
    """The allowed range in words: '>= 1', '> 0', 'in [0, 1)'."""
    if spec.high is not None:
        high = '2**32' if spec.high == 2 ** 32 else spec.high
        return 'in [{}, {}{}'.format(spec.low, high, ']' if spec.high_closed else ')')
    return '{} {}'.format('>' if spec.low_open else '>=', spec.low)


def check_value(name, value):
    """value if the spec allows it, else a UserError naming --name."""
    spec = BY_NAME[name]
    ok = (value > spec.low if spec.low_open else value >= spec.low) and (
        spec.high is None or value < spec.high or (spec.high_closed and value == spec.high))
    if not ok:
        raise UserError('--{} must be {}, got {}{}'.format(
            name, allowed(spec), value, ' ({})'.format(spec.note) if spec.note else ''))
    return value


def check_hparams(hp):
    """Range checks of every hyperparameter in hp (other keys are left alone), with the flag's name in the message."""
    for name, value in hp.items():
        if name in BY_NAME:
            check_value(name, value)
    return hp


def search_space(family):
    """{name: the grid}, in the authors' CSV's column order: the authors' grid for the paper's
    datasets, MMSA's config_tune.json for 'mmsa' (a dataset name is taken as its paper family).
    A tuple of names is a joint choice (MMSA tunes its hidden sizes and dropouts as lists):
    its values are tuples in that order."""
    space = {}
    for spec in SPEC:
        if isinstance(spec.grid, dict):
            if family in spec.grid:
                space[spec.name] = list(spec.grid[family])
        elif spec.grid is not None:  # one grid for every family
            space[spec.name] = list(spec.grid)
    space.update(JOINT_GRIDS.get(family, {}))
    return space
