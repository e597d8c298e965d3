"""hparams.py is the one place a hyperparameter is specified: the scripts' flags, range checks, search
space and help come from it, so adding one there is enough."""
import argparse

import pytest

from helpers import cli_error
from data import pom
from lmf import hparams
import utils
import search
import train


def out_of_range(spec):
    """A value just outside the allowed range of spec."""
    return spec.type(spec.low) if spec.low_open else (spec.low - 1 if spec.type is int else spec.low - 0.5)


@pytest.mark.parametrize('spec', hparams.SPEC, ids=lambda s: s.name)
def test_every_hyperparameter_is_a_train_flag_with_its_type_and_range(spec):
    value = spec.type(spec.low) + (1 if spec.low_open else 0)
    assert getattr(train.parse_args(['--' + spec.name, str(value)]), spec.name) == value
    assert isinstance(getattr(train.parse_args(['--' + spec.name, str(value)]), spec.name), spec.type)
    with pytest.raises(utils.UserError, match='^--{} must be '.format(spec.name)):
        hparams.check_hparams({spec.name: out_of_range(spec)})
    if spec.high is not None:
        above = spec.high + (0.5 if spec.high_closed else 0)  # high itself is allowed where the range is closed
        with pytest.raises(utils.UserError, match='^--{} must be in '.format(spec.name)):
            hparams.check_hparams({spec.name: above})
        if spec.high_closed:
            assert hparams.check_hparams({spec.name: spec.high}) == {spec.name: spec.high}


def test_an_out_of_range_flag_is_one_line_from_train_py(tmp_path):
    cli_error('train', ['--emotion', 'happy', '--video_dropout', '1.0', '--model_path', tmp_path],
              '--video_dropout must be in [0, 1), got 1.0')


def test_every_published_row_is_complete_and_in_range():
    """PUBLISHED: every row has every table column; HPARAMS: each row, with its family's defaults, sets every
    hyperparameter, in range; every POM trait has its row."""
    for dataset, rows in hparams.PUBLISHED.items():
        for task, row in rows.items():
            assert len(row) == len(hparams.TABLE_COLUMNS), (dataset, task)
    needed = set(hparams.names()) - {'output_dim', 'train_missing'}  # train_missing: only when given
    for family, rows in hparams.HPARAMS.items():
        for name, row in rows.items():
            if family == 'mmsa':  # rows of MMSA's feature files, one per dataset
                hp = hparams.published_hparams(name, layout='mmsa')
            else:
                hp = hparams.published_hparams(family, name if family == 'iemocap' else None,
                                               name if family == 'pom' else None)
            assert needed <= set(hp), (family, name)
            assert {k: hp[k] for k in row} == row, (family, name)
            hparams.check_hparams(row)
    assert set(hparams.POM_TRAIT_ROWS) >= set(pom.TRAITS)
    assert set(hparams.POM_TRAIT_ROWS.values()) == set(hparams.HPARAMS['pom'])


def test_a_new_hyperparameter_in_the_spec_reaches_flags_checks_and_search_space(monkeypatch):
    new = hparams.HParam('fusion_width', int, 2, 'model', 'a made-up width', grid=[2, 4])
    monkeypatch.setattr(hparams, 'SPEC', hparams.SPEC + (new,))
    monkeypatch.setitem(hparams.BY_NAME, 'fusion_width', new)
    monkeypatch.setattr(hparams, 'MODEL_HPARAMS', hparams.names('model'))
    assert train.parse_args(['--fusion_width', '4']).fusion_width == 4
    parser = argparse.ArgumentParser()
    hparams.add_hparam_args(parser)  # test.py's and export_model.py's model flags
    assert parser.parse_args(['--fusion_width', '2']).fusion_width == 2
    with pytest.raises(utils.UserError, match=r'^--fusion_width must be >= 2, got 1$'):
        hparams.check_hparams({'fusion_width': 1})
    assert hparams.search_space('iemocap')['fusion_width'] == [2, 4]
    assert 'fusion_width' in search.load_space(None, 'iemocap')
