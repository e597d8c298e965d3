"""Write SYNTHETIC sample data in the layout of one of the paper's processed pickles or of MMSA's
feature files.

Made-up numbers, not IEMOCAP, CMU-MOSI, POM, CMU-MOSEI or CH-SIMS: scores on them say that the code
learns, nothing about the tasks. Each reader's module (data/iemocap.py, ...) describes its generator.

    python data/make_sample_data.py                      # IEMOCAP layout -> data/sample_data.pkl
    python data/make_sample_data.py --dataset mosi       # -> data/mosi_sample.pkl (1284/229/686)
    python data/make_sample_data.py --dataset pom --out /tmp/pom.pkl --train 96 --valid 32 --test 64
    python data/make_sample_data.py --dataset mosei      # MMSA layout -> data/mosei_sample.pkl (500/120/250)
    python data/make_sample_data.py --dataset mosi --layout mmsa   # -> data/mmsa_mosi_sample.pkl

sims and simsv2 as mosei. The split sizes are per emotion for IEMOCAP (default 800/200/250).
Smaller sizes make quick test data (the TIPC lite modes and the tests use them).
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
    if (args.dataset not in mmsa.DATASETS) if layout == 'mmsa' else (args.dataset in data.MMSA_ONLY):
        parser.error('--dataset {} has no {} layout'.format(args.dataset, layout))
    reader = mmsa.Reader(args.dataset) if layout == 'mmsa' else data.module(args.dataset)  # mosi has both
    try:
        sizes = common.split_sizes(reader.SPLIT_SIZES, args.train, args.valid, args.test)
    except ValueError as err:
        parser.error(str(err))
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), os.path.basename(reader.SAMPLE_PATH))
    try:
        reader.write_sample_data(out, args.seed, sizes)
    except UserError as err:
        print('error: {}'.format(err), file=sys.stderr)
        sys.exit(2)
    except OSError as err:
        print('error: {}{}'.format(err.strerror or err, ': {}'.format(err.filename) if err.filename else ''),
              file=sys.stderr)
        sys.exit(2)


if __name__ == '__main__':
    main()
