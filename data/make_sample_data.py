"""Write SYNTHETIC sample data in the layout of one of the paper's processed pickles or of MMSA's
feature files.

These are made-up numbers, not IEMOCAP, CMU-MOSI, POM, CMU-MOSEI or CH-SIMS: scores measured on
them say that the code learns, nothing about the tasks. Each dataset's generator and layout are
described in data/iemocap.py, data/mosi.py, data/pom.py and data/mmsa.py.

    python data/make_sample_data.py                      # IEMOCAP layout -> data/sample_data.pkl
    python data/make_sample_data.py --dataset mosi       # -> data/mosi_sample.pkl (1284/229/686)
    python data/make_sample_data.py --dataset pom --out /tmp/pom.pkl --train 96 --valid 32 --test 64
    python data/make_sample_data.py --dataset mosei      # MMSA layout -> data/mosei_sample.pkl (500/120/250)
    python data/make_sample_data.py --dataset mosi --layout mmsa   # -> data/mmsa_mosi_sample.pkl

The split sizes are per emotion for IEMOCAP (default 800/200/250). Smaller sizes make quick
test data (the TIPC lite modes and the tests use them).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import data  # noqa: E402
from data import common, mmsa  # noqa: E402
from safe_io import UserError  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--dataset', choices=data.DATASETS, default='iemocap')
    parser.add_argument('--layout', choices=('authors', 'mmsa'), default=None,
                        help="the authors' processed pickle (iemocap, mosi, pom) or MMSA's feature file (mosi, "
                             "mosei, sims, simsv2); default: the dataset's only one, authors' for mosi")
    parser.add_argument('--out', default=None, help='default: data/sample_data.pkl, data/<dataset>_sample.pkl, '
                                                    'data/mmsa_mosi_sample.pkl for --dataset mosi --layout mmsa')
    parser.add_argument('--seed', type=int, default=0)
    for split in common.SPLITS:
        parser.add_argument('--' + split, type=int, default=None, help='{} samples (default: the dataset\'s)'.format(split))
    args = parser.parse_args()
    layout = args.layout or ('mmsa' if args.dataset in data.MMSA_ONLY else 'authors')
    has_layout = args.dataset in mmsa.DATASETS if layout == 'mmsa' else args.dataset not in data.MMSA_ONLY
    if not has_layout:
        parser.error('--dataset {} has no {} layout'.format(args.dataset, layout))
    here = os.path.dirname(os.path.abspath(__file__))
    if layout == 'mmsa':
        defaults, sample_path = mmsa.SAMPLE_SPLIT_SIZES, mmsa.SAMPLE_PATHS[args.dataset]
        write = lambda path, seed, sizes: mmsa.write_sample_data(path, args.dataset, seed, sizes)  # noqa: E731
    else:
        reader = data.module(args.dataset)
        defaults, sample_path, write = reader.SPLIT_SIZES, reader.SAMPLE_PATH, reader.write_sample_data
    try:
        sizes = common.split_sizes(defaults, args.train, args.valid, args.test)
    except ValueError as err:
        parser.error(str(err))
    out = args.out or os.path.join(here, os.path.basename(sample_path))
    try:
        write(out, args.seed, sizes)
    except UserError as err:
        print('error: {}'.format(err), file=sys.stderr)
        sys.exit(2)
    except OSError as err:
        print('error: {}{}'.format(err.strerror or err, ': {}'.format(err.filename) if err.filename else ''),
              file=sys.stderr)
        sys.exit(2)


if __name__ == '__main__':
    main()
