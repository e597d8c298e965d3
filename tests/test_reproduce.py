"""reproduce.py: the tables come from the runs' logs, a rerun trains nothing twice, a killed or interrupted
run finishes with the same numbers, --only picks parts, and the committed results/ are what its logs say."""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from helpers import REPO, assert_clean_error, run_script
from lmf import checkpoints

# 2 seeds each of: 4 emotions, CMU-MOSI (ranks 1..64), POM, 4 MMSA files x 2 recipes, and the robustness study's
# happy runs (TFN, LMF on the 6 proper subsets of the modalities): 8 + 14 + 2 + 16 + 14
QUICK_RUNS = 54

# What each table's "this repository" cells hold, read here without reproduce.py's code: the log line and scale.
LOG_PATTERNS = {
    'iemocap': {'F1': (r'^F1-score on test set is (\S+)$', 100)},
    'mosi': {'MAE': (r'^MAE on test set is (\S+)$', 1), 'Corr': (r'^Correlation w\.r\.t human evaluation on test set is (\S+)$', 1),
             'Acc-2': (r'^Binary accuracy on test set is (\S+)$', 100), 'F1': (r'^F1-score on test set is (\S+)$', 100),
             'Acc-7': (r'^Multiclass accuracy on test set is (\S+)$', 100)},
    'pom': {'MAE': (r'^MAE on test set is (\S+)$', 1), 'Corr': (r'^Correlation w\.r\.t human evaluation on test set is (\S+)$', 1),
            'Acc': (r'^Multiclass accuracy on test set is (\S+)$', 100)},
}
# MMSA's tables: every cell is the line '<name> on test set is <value>' of MMSA's block (the last such line of its
# name: 'MAE' and 'Corr' are printed once in full precision before it), x100 as MMSA's table.
MMSA_NAMES = {'mosi': ('Has0_acc_2', 'Has0_F1_score', 'Non0_acc_2', 'Non0_F1_score', 'Mult_acc_5', 'Mult_acc_7', 'MAE',
                       'Corr'),
              'sims': ('Mult_acc_2', 'Mult_acc_3', 'Mult_acc_5', 'F1_score', 'MAE', 'Corr')}
MMSA_TABLES = {'mosi': ('CMU-MOSI (MMSA)', 'mosi', 4), 'mosei': ('CMU-MOSEI (MMSA)', 'mosi', 5),
               'sims': ('CH-SIMS (MMSA)', 'sims', 3), 'simsv2': ('CH-SIMS v2 (MMSA)', 'sims', 4)}  # title, names, rank
CELL = re.compile(r'^(-?[\d.]+) ± ([\d.]+) \((-?[\d.]+)(?:–| to )(-?[\d.]+)\)$')
RUN_RECORDS = os.path.join('runs', '*', '*', 'rank_*', 'seed_*', 'run.json')  # <task>/<data>/rank_<r>/seed_<s>


def quick(out, *extra):
    return run_script('reproduce.py', '--quick', '--out', str(out), *extra)


@pytest.fixture(scope='module')
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp('reproduce') / 'quick'
    proc = quick(out)
    assert proc.returncode == 0 and 'Traceback' not in proc.stderr, proc.stdout + proc.stderr
    return out, proc


def log_values(path, pattern, scale, last=False):
    with open(path) as f:
        found = re.findall(pattern, f.read(), flags=re.MULTILINE)
    assert found, (path, pattern)
    return float(found[-1 if last else 0]) * scale


def table_rows(text, heading_cell):
    """{first cell: [other cells]} of the markdown table whose header starts with heading_cell."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith('| ' + heading_cell + ' |'))
    header = [c.strip() for c in lines[start].strip('|').split('|')]
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith('|'):
            break
        cells = [c.strip() for c in line.strip('|').split('|')]
        rows[cells[0]] = dict(zip(header[1:], cells[1:]))
    return rows


def this_repo(rows):
    (row,) = [cells for label, cells in rows.items() if label.startswith('this repository')]
    return row


def assert_cell(cell, values):
    """The cell shows mean ± std (n-1) (min–max) of values, to the digits it prints."""
    m = CELL.match(cell)
    assert m, cell
    digits = len(m.group(1).split('.')[1])
    tol = 0.5 * 10 ** -digits + 1e-9
    values = np.asarray(values)
    expected = (values.mean(), values.std(ddof=1), values.min(), values.max())
    for shown, value in zip(m.groups(), expected):
        assert abs(float(shown) - value) <= tol, (cell, expected)


def runs_of(out, task, rank):
    return sorted(glob.glob(os.path.join(str(out), 'runs', task, '*', 'rank_{}'.format(rank), 'seed_*')))


def test_quick_writes_three_tables_the_rank_figure_and_every_run(quick_run):
    out, proc = quick_run
    text = (out / 'RESULTS.md').read_text()
    for heading in ('## Table 1: CMU-MOSI and POM', '## Table 2: IEMOCAP, F1 per emotion',
                    '## Table 3: efficiency, LMF against TFN', '## Rank study', '![', 'SYNTHETIC'):
        assert heading in text, heading
    with open(str(out / 'rank.png'), 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert '{} training runs: 0 recorded, {} to train'.format(QUICK_RUNS, QUICK_RUNS) in proc.stdout
    assert re.search(r'^\[{0}/{0}\] .* \| 0 left, about'.format(QUICK_RUNS), proc.stdout, re.MULTILINE), proc.stdout
    finished = glob.glob(os.path.join(str(out), RUN_RECORDS))
    assert len(finished) == QUICK_RUNS and all('/mosi_quick-' in p for p in finished if '/mosi/' in p)
    for record in finished:
        names = os.listdir(os.path.dirname(record))
        assert any(n.endswith('.pdparams') for n in names) and any(n.startswith('train_') for n in names), names
    assert 'paper (LMF)' in text and 'earlier Paddle port' in text


def test_every_checkpoint_exports_as_trained(quick_run, tmp_path):
    """A run's checkpoint records the text length of its file, as train.py's do, so that export_model.py writes
    the model for that length without being told (MMSA's files have 39 or 50 steps, the paper's pickles 20)."""
    out = quick_run[0]
    import utils
    for record in glob.glob(os.path.join(str(out), RUN_RECORDS)):
        (checkpoint,) = glob.glob(os.path.join(os.path.dirname(record), '*.pdparams'))
        hp = checkpoints.load_checkpoint(checkpoint)[1]
        steps = 8 if '/mmsa-' in record else 20  # reproduce.QUICK_STEPS; the authors' layout's 20 steps
        assert hp['seq_len'] == steps, (record, hp.get('seq_len'))
    (checkpoint,) = glob.glob(os.path.join(str(out), 'runs', 'mmsa-sims-ours', '*', 'rank_3', 'seed_1111', '*.pdparams'))
    (data,) = glob.glob(os.path.join(str(out), 'data', 'mmsa-sims_quick.pkl'))
    inference = str(tmp_path / 'inference')
    export = run_script('export_model.py', '--dataset', 'sims', '--check_path', checkpoint, '--data_path', data,
                        '--save_inference_dir', inference)
    assert export.returncode == 0, export.stdout + export.stderr
    infer = run_script('infer.py', '--dataset', 'sims', '--save_inference_dir', inference, '--data_path', data,
                       '--output_dir', str(tmp_path / 'pred'))
    assert infer.returncode == 0, infer.stdout + infer.stderr


def test_every_number_in_the_tables_is_recomputed_from_the_run_logs(quick_run):
    assert_tables_are_the_logs(quick_run[0], seeds=2)


def assert_tables_are_the_logs(out, seeds):
    text = (out / 'RESULTS.md').read_text()
    ranks = {'happy': 1, 'sad': 4, 'angry': 8, 'neutral': 16, 'mosi': 4, 'pom': 4}  # hparams.HPARAMS
    iemocap = this_repo(table_rows(text, 'IEMOCAP F1'))
    for emotion in ('happy', 'sad', 'angry', 'neutral'):
        runs = runs_of(out, emotion, ranks[emotion])
        assert len(runs) == seeds
        pattern, scale = LOG_PATTERNS['iemocap']['F1']
        assert_cell(iemocap[emotion], [log_values(os.path.join(r, 'train_{}.txt'.format(emotion)), pattern, scale)
                                       for r in runs])
    for dataset, title in (('mosi', 'CMU-MOSI'), ('pom', 'POM')):
        row = this_repo(table_rows(text, title))
        runs = runs_of(out, dataset, ranks[dataset])
        for column, (pattern, scale) in LOG_PATTERNS[dataset].items():
            assert_cell(row[column], [log_values(os.path.join(r, 'train_{}.txt'.format(dataset)), pattern, scale)
                                      for r in runs])
    rank_rows = table_rows(text, 'rank')
    assert sorted(int(r) for r in rank_rows) == [1, 2, 4, 8, 16, 32, 64]
    for rank, cells in rank_rows.items():
        runs = runs_of(out, 'mosi', rank)
        assert cells['seeds'] == str(len(runs)) == str(seeds)
        for column in ('MAE', 'Corr'):
            pattern, scale = LOG_PATTERNS['mosi'][column]
            assert_cell(cells[column], [log_values(os.path.join(r, 'train_mosi.txt'), pattern, scale) for r in runs])
    # MMSA's tables: rows --recipe mmsa and default, a column per MMSA metric
    for dataset, (title, names, rank) in MMSA_TABLES.items():
        rows = table_rows(text, title)
        assert [label.split(',')[0] for label in rows] == [
            "MMSA's published LMF (mean of 5 seeds)", "--recipe mmsa (MMSA's training", 'default (defects fixed)']
        for recipe, label in (('mmsa', '--recipe mmsa'), ('ours', 'default')):
            (cells,) = [c for row_label, c in rows.items() if row_label.startswith(label)]
            runs = runs_of(out, 'mmsa-{}-{}'.format(dataset, recipe), rank)
            assert len(runs) == seeds
            for name in MMSA_NAMES[names]:
                pattern = r'^{} on test set is (\S+)$'.format(name)
                values = [log_values(os.path.join(r, 'train_{}.txt'.format(dataset)), pattern, 100, last=True)
                          for r in runs]
                assert_cell(cells[name], values)
    # The robustness tables: from each run's robustness.txt (LMF, TFN) and the subsets' logs, recomputed here
    for base, title, emotion, pattern in (('happy', 'IEMOCAP happy', 'happy', LOG_PATTERNS['iemocap']['F1'][0]),):
        section = text[text.index('### ' + title):]
        section = section[:section.index('\n### ') if '\n### ' in section else len(section)]
        rows = table_rows(section, 'model')
        for model, task, rank in (('LMF', base, ranks[base]), ('TFN', base + '~tfn', 0)):
            (cells,) = [c for label, c in rows.items() if label.startswith(model + ' (')]
            found = []
            for run in runs_of(out, task, rank):
                with open(os.path.join(run, 'robustness.txt')) as f:
                    found.append(dict(re.findall(r'^Robustness (.+): (\S+)$', f.read(), flags=re.MULTILINE)))
            assert len(found) == seeds and all(len(r) == 1 + 4 * 9 + 3 for r in found)
            assert_cell(cells['clean'], [100 * float(r['clean']) for r in found])
            for target in ('audio', 'video', 'text', 'all'):
                names = ['clean'] + ['noise {} 0.{}'.format(target, i) for i in range(1, 10)]
                areas = [100 * np.trapezoid([float(r[n]) for n in names], dx=0.1) for r in found]
                assert_cell(cells['relative robustness, noise on ' + target], areas)
            for modality in ('audio', 'video', 'text'):
                assert_cell(cells[modality + ' missing'], [100 * float(r['missing ' + modality]) for r in found])
        ablation = table_rows(section, 'modalities')['LMF']
        for subset, cell in ablation.items():
            task, rank = (base, ranks[base]) if subset == 'audio,video,text' else (base + '~lmf-' + subset, ranks[base])
            assert_cell(cell, [log_values(os.path.join(r, 'train_{}.txt'.format(emotion)), pattern, 100)
                               for r in runs_of(out, task, rank)])
        assert (out / 'robustness_{}.png'.format(base)).exists()
    # Table 3 from runs/efficiency/efficiency.txt
    measured = {}
    with open(os.path.join(str(out), 'runs', 'efficiency', 'efficiency.txt')) as f:
        for line in f:
            m = re.match(r'^(LMF|TFN) (parameters|training samples/s|inference samples/s): (\S+)$', line.strip())
            if m:
                measured[m.group(1), m.group(2)] = float(m.group(3))
    assert len(measured) == 6
    efficiency = table_rows(text, 'model')
    for model in ('LMF', 'TFN'):
        cells = efficiency['this run, {} (CPU)'.format(model)]
        assert int(cells['parameters'].replace(',', '')) == measured[model, 'parameters']
        for column in ('training samples/s', 'inference samples/s'):
            assert abs(float(cells[column]) - measured[model, column]) <= 0.5 + 1e-9
    assert 'CPU: ' in text


def files_of(out):
    """{path: (mtime_ns, bytes)} of every recorded run's files."""
    snapshot = {}
    for record in glob.glob(os.path.join(str(out), RUN_RECORDS)):
        for name in os.listdir(os.path.dirname(record)):
            path = os.path.join(os.path.dirname(record), name)
            with open(path, 'rb') as f:
                snapshot[path] = (os.stat(path).st_mtime_ns, f.read())
    return snapshot


def tables(text):
    """RESULTS.md without its efficiency section and training time (speeds differ between runs; the training
    results must not)."""
    before, rest = text.split('## Table 3')
    rest = rest[rest.index('## Rank study'):]
    return before + rest[:rest.index('Training time of the recorded runs')]


def test_a_rerun_trains_nothing_and_a_changed_setting_is_trained_again(quick_run, tmp_path):
    out, _ = quick_run
    copy = tmp_path / 'copy'
    shutil.copytree(str(out), str(copy))
    before = files_of(copy)
    again = quick(copy)
    assert again.returncode == 0, again.stdout + again.stderr
    assert '{} recorded, 0 to train'.format(QUICK_RUNS) in again.stdout and 'measuring' not in again.stdout
    assert files_of(copy) == before
    assert (copy / 'RESULTS.md').read_text() == (out / 'RESULTS.md').read_text()
    # a run recorded with other hyperparameters is not a finished run of these: it trains again
    record = os.path.join(runs_of(copy, 'pom', 4)[0], 'run.json')
    text = open(record).read()
    open(record, 'w').write(text.replace('"batch_size": 16', '"batch_size": 17'))
    third = quick(copy)
    assert third.returncode == 0 and '{} recorded, 1 to train'.format(QUICK_RUNS - 1) in third.stdout, third.stdout
    assert tables((copy / 'RESULTS.md').read_text()) == tables((out / 'RESULTS.md').read_text())


def wait_for_runs(out, count, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if len(glob.glob(os.path.join(str(out), RUN_RECORDS))) >= count:
            return
        time.sleep(0.05)
    raise AssertionError('the run did not record {} runs'.format(count))


# The interrupted run trains the paper's three pickles only (4 emotions, CMU-MOSI and POM at 2 seeds): enough runs
# to stop it twice in the middle, and their folders are the full quick run's, to compare with.
RESUMED_PARTS, RESUMED_RUNS = 'iemocap,mosi,pom', 12


def scores_in_log(path):
    """The '... on test set is ...' lines of a run's log: its scores, which must not depend on interruptions."""
    with open(path) as f:
        return [line for line in f.read().splitlines() if ' on test set is ' in line]


def test_interrupted_and_killed_runs_finish_without_retraining_and_with_the_same_numbers(quick_run, tmp_path):
    out = tmp_path / 'resumed'
    cmd = [sys.executable, 'reproduce.py', '--quick', '--out', str(out), '--only', RESUMED_PARTS]
    # Ctrl-C: one line saying what is kept, exit 130 (SIGINT at its default in the child: a shell that started
    # this suite in the background hands it down ignored, and Python then installs no KeyboardInterrupt)
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    wait_for_runs(out, 3, proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and 'Traceback' not in stderr, stdout + stderr
    kept = len(glob.glob(os.path.join(str(out), RUN_RECORDS)))
    assert 'interrupted: {} of {} training runs are recorded'.format(kept, RESUMED_RUNS) in stderr, stderr
    # a kill (no chance to clean up), later in the next attempt
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_runs(out, kept + 6, proc)
    proc.kill()
    proc.communicate(timeout=60)
    before = files_of(out)
    finished = len(glob.glob(os.path.join(str(out), RUN_RECORDS)))
    assert kept + 6 <= finished < RESUMED_RUNS
    last = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert last.returncode == 0, last.stdout + last.stderr
    assert '{} recorded, {} to train'.format(finished, RESUMED_RUNS - finished) in last.stdout, last.stdout
    after = files_of(out)
    assert {p: after[p] for p in before} == before  # no finished run trained again
    assert len(after) == 3 * RESUMED_RUNS  # log, checkpoint and run.json per run
    # same seeds, same numbers as the run that was never stopped, run by run
    logs = sorted(p for p in after if os.path.basename(p).startswith('train_'))
    assert len(logs) == RESUMED_RUNS
    for path in logs:
        uninterrupted = os.path.join(str(quick_run[0]), os.path.relpath(path, str(out)))
        assert scores_in_log(path) and scores_in_log(path) == scores_in_log(uninterrupted), path


def test_only_trains_the_parts_named_and_says_what_is_missing(tmp_path):
    out = tmp_path / 'only'
    proc = quick(out, '--only', 'pom', '--seeds', '1')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '1 training runs: 0 recorded, 1 to train' in proc.stdout
    assert os.listdir(str(out / 'runs')) == ['pom'] and os.listdir(str(out / 'data')) == ['pom_quick.pkl']
    text = (out / 'RESULTS.md').read_text()
    assert 'python reproduce.py --quick --seeds 1' in text
    assert this_repo(table_rows(text, 'IEMOCAP F1'))['happy'] == 'not run'
    assert this_repo(table_rows(text, 'CMU-MOSI'))['MAE'] == 'not run'
    assert re.match(r'^[\d.]+ \(1 seed\)$', this_repo(table_rows(text, 'POM'))['MAE'])
    assert 'Incomplete' not in text  # parts left out by --only are 'not run', not incomplete
    assert 'python reproduce.py --quick --only efficiency' in text and 'python reproduce.py --quick --only rank' in text
    assert not (out / 'rank.png').exists()
    # another data file: its runs go to their own folder; the first file's run stays
    first = glob.glob(str(out / RUN_RECORDS))
    data = out / 'data' / 'pom_quick.pkl'
    proc = run_script('data/make_sample_data.py', '--dataset', 'pom', '--out', str(data), '--seed', '1',
                      '--train', '64', '--valid', '24', '--test', '32')
    assert proc.returncode == 0, proc.stderr
    again = quick(out, '--only', 'pom', '--seeds', '1')
    assert '1 training runs: 0 recorded, 1 to train' in again.stdout, again.stdout + again.stderr
    both = glob.glob(str(out / RUN_RECORDS))
    assert len(both) == 2 and set(first) < set(both)
    # --tables_only shows one data file's runs, never a mix: here (one run each) the newest
    (newest,) = set(both) - set(first)
    tables_only = quick(out, '--only', 'pom', '--seeds', '1', '--tables_only')
    assert tables_only.returncode == 0, tables_only.stdout + tables_only.stderr
    pattern, _ = LOG_PATTERNS['pom']['MAE']
    mae = log_values(os.path.join(os.path.dirname(newest), 'train_pom.txt'), pattern, 1)
    cell = this_repo(table_rows((out / 'RESULTS.md').read_text(), 'POM'))['MAE']
    assert cell == '{:.3f} (1 seed)'.format(mae), (cell, mae)


@pytest.mark.parametrize('flags, fragments', [
    (('--only', 'happy,joy'), ("'joy'", 'iemocap', 'efficiency')),
    (('--seeds', '0'), ('--seeds', '>= 1')),
    (('--ranks', '4,x'), ('--ranks', 'integers')),
    (('--ranks', '0,4'), ('--ranks', '>= 1')),
])
def test_bad_flags_are_one_line(tmp_path, flags, fragments):
    proc = quick(tmp_path / 'out', *flags)
    assert_clean_error(proc, *fragments)
    assert not (tmp_path / 'out').exists()


def test_a_second_process_on_the_same_out_is_refused(tmp_path):
    import fcntl
    out = tmp_path / 'busy'
    out.mkdir()
    with open(str(out / '.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.write('4242')
        lock.flush()
        assert_clean_error(quick(out), '--out', 'in use by another reproduce.py (pid 4242)')
        assert_clean_error(quick(out, '--tables_only'), '--out', 'no recorded runs')
    assert os.listdir(str(out)) == ['.lock']


def test_out_that_is_a_file_is_one_line(tmp_path):
    path = tmp_path / 'file'
    path.write_text('mine')
    assert_clean_error(quick(path), '--out', 'not a folder')
    assert path.read_text() == 'mine'


def test_the_committed_results_are_what_their_logs_say(tmp_path):
    """results/RESULTS.md (README) is rebuilt from results/runs/*/ logs to the byte."""
    committed = os.path.join(REPO, 'results')
    copy = tmp_path / 'results'
    shutil.copytree(committed, str(copy))
    proc = run_script('reproduce.py', '--tables_only', '--out', str(copy))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (copy / 'RESULTS.md').read_text() == open(os.path.join(committed, 'RESULTS.md')).read()
    assert 'not run' not in (copy / 'RESULTS.md').read_text()
    assert_tables_are_the_logs(copy, seeds=5)  # and independently of reproduce.py's own parsing
