"""test.py, train.sh and run_lfm.sh as users run them, including the end-to-end check."""
import os
import re

import pytest

from helpers import REPO, SEED_CHECKPOINTS, assert_clean_error, run_script
from data.iemocap import write_sample_data
from lmf import hparams

BLOCK = re.compile(r'Start testing (\w+)\.\.\.\.\.\.\n'
                   r'(?:NOTE: .*SYNTHETIC.*\n)?'
                   r'Audio feature dimension is: 74\n'
                   r'Visual feature dimension is: 35\n'
                   r'Text feature dimension is: 300\n'
                   r'Model initialized\n'
                   r'F1-score on test set is ([0-9.]+)\n'
                   r'Accuracy score on test set is ([0-9.]+)\n')


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A one-epoch sad model on the tiny pickle."""
    from helpers import iemocap_data, write_pickle
    tmp = tmp_path_factory.mktemp('trained')
    data = write_pickle(tmp / 'tiny.pkl', iemocap_data())
    proc = run_script('train.py', '--emotion', 'sad', '--data_path', data, '--epochs', '2', '--text_hidden', '16',
                      '--model_path', str(tmp / 'check'), '--log_dir', str(tmp / 'log'))
    assert proc.returncode == 0, proc.stderr
    return tmp, data, str(tmp / 'check' / 'sad.pdparams')


def test_test_py_prints_the_seed_block(trained):
    tmp, data, checkpoint = trained
    for check_path in (checkpoint, os.path.dirname(checkpoint)):  # a file or a folder
        proc = run_script('test.py', '--emotion', 'sad', '--check_path', check_path, '--data_path', data)
        assert proc.returncode == 0, proc.stderr
        match = BLOCK.search(proc.stdout)
        assert match and match.group(1) == 'sad', proc.stdout
        assert 0 <= float(match.group(2)) <= 1 and 0 <= float(match.group(3)) <= 1


def test_flags_that_agree_with_the_checkpoint_are_accepted(trained):
    tmp, data, checkpoint = trained
    proc = run_script('test.py', '--emotion', 'sad', '--check_path', checkpoint, '--data_path', data,
                      '--audio_hidden', '8', '--video_hidden', '4', '--text_hidden', '16', '--rank', '4',
                      '--audio_dropout', '0', '--video_dropout', '0', '--text_dropout', '0')
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize('flag,value', [('--rank', '7'), ('--audio_hidden', '32'), ('--text_hidden', '128'),
                                        ('--output_dim', '1')])
def test_contradicting_flag_names_the_parameter(trained, flag, value):
    tmp, data, checkpoint = trained
    proc = run_script('test.py', '--emotion', 'sad', '--check_path', checkpoint, '--data_path', data, flag, value)
    assert_clean_error(proc, flag + ' ' + value, 'contradicts checkpoint')


@pytest.mark.parametrize('value', ['5', '-1'])
def test_out_of_range_dropout_flag(trained, value):
    _, data, checkpoint = trained
    proc = run_script('test.py', '--emotion', 'sad', '--check_path', checkpoint, '--data_path', data,
                      '--audio_dropout', value)
    assert_clean_error(proc, '--audio_dropout must be in [0, 1)')


def test_missing_and_truncated_checkpoints(trained, tmp_path):
    _, data, checkpoint = trained
    proc = run_script('test.py', '--emotion', 'sad', '--check_path', str(tmp_path / 'nope.pdparams'),
                      '--data_path', data)
    assert_clean_error(proc, '--check_path', 'nope.pdparams', 'does not exist')
    proc = run_script('test.py', '--emotion', 'sad', '--check_path', str(tmp_path), '--data_path', data)
    assert_clean_error(proc, 'no sad.pdparams')
    truncated = tmp_path / 'sad.pdparams'
    truncated.write_bytes(open(checkpoint, 'rb').read()[:3000])
    proc = run_script('test.py', '--emotion', 'sad', '--check_path', str(truncated), '--data_path', data)
    assert_clean_error(proc, 'sad.pdparams', 'truncated')


def test_checkpoint_for_another_emotion_is_refused(trained):
    _, data, checkpoint = trained
    proc = run_script('test.py', '--emotion', 'happy', '--check_path', checkpoint, '--data_path', data)
    assert_clean_error(proc, 'trained for sad')


@pytest.mark.skipif(not os.path.isdir(SEED_CHECKPOINTS), reason='../shared/reference is not present')
def test_test_py_reads_the_seed_checkpoints(trained):
    _, data, _ = trained
    proc = run_script('test.py', '--emotion', 'neutral', '--data_path', data,
                      '--check_path', os.path.join(SEED_CHECKPOINTS, 'neutral.pkl'),
                      '--audio_hidden', '32', '--rank', '16')
    assert proc.returncode == 0, proc.stderr
    assert BLOCK.search(proc.stdout).group(1) == 'neutral'


def test_shell_scripts_refuse_a_missing_explicit_data_path(tmp_path):
    for script in ('train.sh', 'run_lfm.sh'):
        proc = run_script('bash', script, env={'DATA_PATH': str(tmp_path / 'missing.pkl'),
                                               'CHECK_DIR': str(tmp_path), 'LOG_DIR': str(tmp_path)})
        assert proc.returncode != 0
        assert 'missing.pkl does not exist' in proc.stderr and 'Traceback' not in proc.stderr


def test_train_sh_then_run_lfm_sh_on_sample_data(tmp_path):
    """The Quick start: every emotion learns the synthetic signal (F1 >= 0.80), and happy prints the F1 the README
    shows. 14 epochs: past every emotion's best validation epoch on this sample (13, 6, 7 and 2; early stopping
    ends the full runs later), so the checkpoints are those of the full `bash train.sh`, in half its time."""
    data = str(tmp_path / 'sample_data.pkl')
    write_sample_data(data)
    env = {'DATA_PATH': data, 'CHECK_DIR': str(tmp_path / 'check'), 'LOG_DIR': str(tmp_path / 'log')}
    proc = run_script('bash', 'train.sh', '--epochs', '14', env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for emotion in hparams.EMOTIONS:
        assert os.path.isfile(tmp_path / 'check' / (emotion + '.pdparams'))
        assert 'Found new check model' in (tmp_path / 'log' / 'train_{}.txt'.format(emotion)).read_text()
    proc = run_script('bash', 'run_lfm.sh', env=env)
    assert proc.returncode == 0, proc.stderr
    blocks = BLOCK.findall(proc.stdout)
    assert [b[0] for b in blocks] == list(hparams.EMOTIONS), proc.stdout
    assert proc.stdout.count('SYNTHETIC') >= 4
    for emotion, f1, accuracy in blocks:
        assert float(f1) >= 0.80, (emotion, f1)
    with open(os.path.join(REPO, 'README.md')) as f:
        assert 'F1-score on test set is {}\n'.format(blocks[0][1]) in f.read()  # same seed, same numbers
