"""Write SYNTHETIC sample data in the layout of one of the paper's processed pickles.

These are made-up numbers, not IEMOCAP, CMU-MOSI or POM: scores measured on them say that the
code learns, nothing about the tasks. Each dataset's generator and layout are described in
data/iemocap.py, data/mosi.py and data/pom.py.

    python data/make_sample_data.py                      # IEMOCAP layout -> data/sample_data.pkl
    python data/make_sample_data.py --dataset mosi       # -> data/mosi_sample.pkl (1284/229/686)
    python data/make_sample_data.py --dataset pom --out /tmp/pom.pkl --train 96 --valid 32 --test 64

The split sizes are per emotion for IEMOCAP (default 800/200/250). Smaller sizes make quick
test data (the TIPC lite modes and the tests use them).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import data  # noqa: E402
from data import common  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--dataset', choices=data.DATASETS, default='iemocap')
    parser.add_argument('--out', default=None, help='default: data/sample_data.pkl, data/mosi_sample.pkl or '
                                                    'data/pom_sample.pkl')
    parser.add_argument('--seed', type=int, default=0)
    for split in common.SPLITS:
        parser.add_argument('--' + split, type=int, default=None, help='{} samples (default: the dataset\'s)'.format(split))
    args = parser.parse_args()
    reader = data.module(args.dataset)
    try:
        sizes = common.split_sizes(reader.SPLIT_SIZES, args.train, args.valid, args.test)
    except ValueError as err:
        parser.error(str(err))
    here = os.path.dirname(os.path.abspath(__file__))
    out = args.out or os.path.join(here, os.path.basename(reader.SAMPLE_PATH))
    reader.write_sample_data(out, args.seed, sizes)


if __name__ == '__main__':
    main()
