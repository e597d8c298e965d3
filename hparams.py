"""The hyperparameter specification and the tasks: every hyperparameter once (type, allowed range,
command-line help, the authors' search grid, per-dataset default), and the published values of
every task (an IEMOCAP emotion, CMU-MOSI, a POM trait's row).

The scripts build their flags (add_hparam_args), range checks (check_hparams) and search space
(search_space) from SPEC; train.sh, run_lfm.sh, search.py, reproduce.py and the TIPC configs take
the published values from here; the tables in README.md and docs/ are tested against them
(tests/test_docs.py). Adding a hyperparameter is one entry in SPEC (and a column of PUBLISHED if
it has published values).
"""
import collections

from safe_io import UserError

HParam = collections.namedtuple('HParam', 'name type low high low_open group help grid dataset_default note')


def hparam(name, type, low, group, help, high=None, low_open=False, grid=None, dataset_default=None, note=''):
    """One hyperparameter. Allowed values: > low (low_open) or >= low, and < high if given.
    grid: the authors' search values, a list, or {dataset: list}. dataset_default: {dataset: value}
    for settings every task of a dataset shares (the rest come from PUBLISHED)."""
    return HParam(name, type, low, high, low_open, group, help, grid, dataset_default or {}, note)


DROPOUTS = [0, 0.1, 0.15, 0.2, 0.3, 0.5]
RATES = [0.0003, 0.0005, 0.001, 0.003]
# Order: the training length, the 11 the authors search in their CSV's column order, then the rest.
# group: which part of the code reads it (the model, the model's dropouts, or training).
SPEC = (
    hparam('epochs', int, 1, 'train', 'most epochs (early stopping usually ends sooner)',
           dataset_default={'iemocap': 100, 'mosi': 500, 'pom': 500}),
    hparam('patience', int, 1, 'train', 'epochs without a better validation loss before stopping',
           dataset_default={'iemocap': 20, 'mosi': 20, 'pom': 20}),
    hparam('audio_hidden', int, 1, 'model', 'audio subnetwork width',
           grid={'iemocap': [8, 16, 32], 'mosi': [4, 8, 16], 'pom': [4, 8, 16]}),
    hparam('video_hidden', int, 1, 'model', 'video (FACET) subnetwork width', grid=[4, 8, 16]),
    hparam('text_hidden', int, 2, 'model', 'text LSTM width', grid=[64, 128, 256],
           note='the text output is text_hidden // 2'),
    hparam('audio_dropout', float, 0, 'dropout', 'audio subnetwork dropout', high=1, grid=DROPOUTS),
    hparam('video_dropout', float, 0, 'dropout', 'video subnetwork dropout', high=1, grid=DROPOUTS),
    hparam('text_dropout', float, 0, 'dropout', 'text subnetwork dropout', high=1, grid=DROPOUTS),
    hparam('factor_learning_rate', float, 0, 'train', 'Adam rate of the three modality factors', low_open=True,
           grid=RATES),
    hparam('learning_rate', float, 0, 'train', 'Adam rate of everything else', low_open=True, grid=RATES),
    hparam('rank', int, 1, 'model', 'rank of the fusion factors', grid=[1, 4, 8, 16]),
    hparam('batch_size', int, 1, 'train', 'samples per batch',
           grid={'iemocap': [8, 16, 32, 64, 128], 'mosi': [4, 8, 16, 32, 64, 128], 'pom': [4, 8, 16, 32, 64, 128]}),
    hparam('weight_decay', float, 0, 'train', "Adam's L2 weight decay", grid=[0, 0.001, 0.002, 0.01]),
    hparam('seed', int, 0, 'train', 'seed of initialisation, dropout and batch order', high=2 ** 32),
    hparam('output_dim', int, 1, 'model', 'IEMOCAP: classes (2); CMU-MOSI/POM: must equal the label count of the file',
           dataset_default={'iemocap': 2}),
)
BY_NAME = {h.name: h for h in SPEC}


def names(group=None):
    return tuple(h.name for h in SPEC if group is None or h.group == group)


MODEL_HPARAMS = names('model')
DROPOUT_HPARAMS = names('dropout')
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
}
HPARAMS = {dataset: {task: dict(zip(TABLE_COLUMNS, row)) for task, row in rows.items()}
           for dataset, rows in PUBLISHED.items()}
# Not hyperparameters, but per dataset too. linear_init: IEMOCAP keeps the earlier Paddle port's
# Linear initialisation (Paddle's default); CMU-MOSI and POM, which that port never had, take the
# authors' (PyTorch's): with Paddle's, CMU-MOSI learned clearly worse than their code
# (BENCHMARKS.md, "Learning parity").
DATASET_SETTINGS = {'iemocap': {}, 'mosi': dict(linear_init='torch'), 'pom': dict(linear_init='torch')}

# ---------------------------------------------------------------- tasks

DATASETS = tuple(PUBLISHED)
REGRESSION = ('mosi', 'pom')  # trained with the summed L1 loss, evaluated as regression
EMOTIONS = tuple(PUBLISHED['iemocap'])
# --trait: the 16 POM traits (and the Sentiment column of older 17-label copies) -> their hyperparams.txt row
POM_TRAIT_ROWS = dict({name: name for name in PUBLISHED['pom']}, Passionate='Passion', Dominant='Dominance',
                      Reserved='Reserve', Credible='Confidence', Thorough='Confidence', Persuasive='Confidence')
DEFAULT_TRAIT = 'Confidence'
IDENTITY_KEYS = ('dataset', 'emotion', 'trait')  # which task a hyperparameter dict belongs to


def model_name(dataset, emotion=None):
    """What a model is called in file names (check/<name>.pdparams, ...): the emotion for IEMOCAP, else the dataset."""
    return emotion if dataset == 'iemocap' else dataset


def model_names(dataset):
    """The models a dataset trains (train.sh / run_lfm.sh): the four emotions, or the dataset itself."""
    if dataset not in DATASETS:
        raise UserError('DATASET={}: unknown dataset; choose one of {}'.format(dataset, ', '.join(DATASETS)))
    return EMOTIONS if dataset == 'iemocap' else (dataset,)


def pom_trait(trait):
    """(the trait's name as POM_TRAIT_ROWS spells it, its hyperparams.txt row), from any letter case."""
    for name, row in POM_TRAIT_ROWS.items():
        if name.lower() == str(trait).lower():
            return name, row
    raise UserError('--trait: unknown trait {!r}; choose one of {}'.format(trait, ', '.join(POM_TRAIT_ROWS)))


def published_hparams(dataset, emotion=None, trait=None):
    """The published hyperparameters of one task with the dataset's defaults (epochs, patience, ...)
    and the keys that say which task it is: dataset, plus emotion (IEMOCAP) or trait (POM)."""
    if dataset not in PUBLISHED:
        raise UserError('--dataset: unknown dataset {!r}; choose one of {}'.format(dataset, ', '.join(DATASETS)))
    if dataset != 'iemocap' and emotion is not None:
        raise UserError('--emotion selects an IEMOCAP model; --dataset {} has none'.format(dataset))
    if dataset != 'pom' and trait is not None:
        raise UserError('--trait selects a row of the POM hyperparameters; it does not apply to --dataset {}'.format(
            dataset))
    hp = {h.name: h.dataset_default[dataset] for h in SPEC if dataset in h.dataset_default}
    hp.update(DATASET_SETTINGS[dataset], dataset=dataset)
    if dataset == 'iemocap':
        emotion = 'happy' if emotion is None else emotion
        if emotion not in HPARAMS['iemocap']:
            raise UserError('--emotion: unknown emotion {!r}; choose one of {}'.format(emotion, ', '.join(EMOTIONS)))
        hp.update(HPARAMS['iemocap'][emotion], emotion=emotion)
    elif dataset == 'pom':
        name, row = pom_trait(DEFAULT_TRAIT if trait is None else trait)
        hp.update(HPARAMS['pom'][row], trait=name)
    else:
        hp.update(HPARAMS[dataset][dataset])
    return hp


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
                        help='iemocap (default; one model per --emotion), mosi or pom')
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
    if len(values) == 1 and len(spec.dataset_default) == len(DATASETS):
        return str(next(iter(values)))
    return ', '.join('{} for {}'.format(value, ' and '.join(d)) for value, d in values.items())


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
        return 'in [{}, {})'.format(spec.low, high)
    return '{} {}'.format('>' if spec.low_open else '>=', spec.low)


def check_value(name, value):
    """value if the spec allows it, else a UserError naming --name."""
    spec = BY_NAME[name]
    ok = (value > spec.low if spec.low_open else value >= spec.low) and (spec.high is None or value < spec.high)
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


def search_space(dataset):
    """{name: the authors' grid for this dataset}, in their CSV's column order."""
    space = {}
    for spec in SPEC:
        if spec.grid is not None:
            space[spec.name] = list(spec.grid[dataset] if isinstance(spec.grid, dict) else spec.grid)
    return space
