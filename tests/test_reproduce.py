"""reproduce.py: every table cell is the runs' records, a rerun trains nothing twice (on the committed results/
too), a killed or interrupted run finishes with the same numbers, --only picks parts, bad input is one line.
reproduce.main runs in this process; only the interrupted and killed runs need processes of their own."""
import glob
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from helpers import REPO, assert_clean_error, run_command
import reproduce
from lmf import checkpoints, robustness

# 2 seeds each of: 4 emotions, CMU-MOSI (ranks 1..64), POM, 4 MMSA files x 2 recipes, and the robustness study's
# happy runs (TFN, LMF on the 6 proper subsets of the modalities, LMF and TFN trained with missing data) and CH-SIMS's
# (TFN, LMF and TFN trained with missing data): 8 + 14 + 2 + 16 + 18 + 6
QUICK_RUNS = 64
COMMITTED = os.path.join(REPO, 'results')
COMMITTED_RUNS = 250  # 5 seeds: 4 emotions, mosi at 7 ranks, pom, 8 MMSA tasks, 30 study tasks on 4 files
RUN_RECORDS = os.path.join('runs', '*', '*', 'rank_*', 'seed_*', 'train_*.json')  # <task>/<data>/rank_<r>/seed_<s>
CELL_FORMAT = r'^(-?[\d.]+) ± ([\d.]+) \((-?[\d.]+)(?:–| to )(-?[\d.]+)\)$'


def quick(out, *extra):
    return run_command(reproduce, '--quick', '--out', out, *extra)


@pytest.fixture(scope='module')
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp('reproduce') / 'quick'
    proc = quick(out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, proc


def read_json(path):
    with open(path) as f:
        return json.load(f)


def records_of(out, task, rank):
    """The run records of a task at a rank, by seed."""
    return [read_json(p) for p in sorted(glob.glob(os.path.join(str(out), 'runs', task, '*', 'rank_{}'.format(rank),
                                                                'seed_*', 'train_*.json')))]


def table_rows(text, heading_cell):
    """{first cell: {column title: cell}} of the markdown table whose header starts with heading_cell."""
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
    m = re.match(CELL_FORMAT, cell)
    assert m, cell
    tol = 0.5 * 10 ** -len(m.group(1).split('.')[1]) + 1e-9
    values = np.asarray(values)
    for shown, value in zip(m.groups(), (values.mean(), values.std(ddof=1), values.min(), values.max())):
        assert abs(float(shown) - value) <= tol, (cell, values)


def assert_tables_are_the_records(out, seeds, study=('happy',), missing_study=('happy', 'mmsa-sims-ours')):
    """Every "this repository" cell of RESULTS.md recomputed here from the JSON records (not reproduce.py's code):
    train_<name>.json's metrics, robustness.json's and missing.json's scores, efficiency.json's values."""
    text = (out / 'RESULTS.md').read_text()
    ranks = {'happy': 1, 'sad': 4, 'angry': 8, 'neutral': 16, 'mosi': 4, 'pom': 4}  # hparams.PUBLISHED

    def metric(task, rank, key, scale=1):
        found = records_of(out, task, rank)
        assert len(found) == seeds and all(r['status'] == 'finished' for r in found), (task, rank)
        return [r['metrics'][key] * scale for r in found]

    iemocap = this_repo(table_rows(text, 'IEMOCAP F1'))
    for emotion in ('happy', 'sad', 'angry', 'neutral'):
        assert_cell(iemocap[emotion], metric(emotion, ranks[emotion], 'f1', 100))
    columns = {'mosi': (('MAE', 'mae', 1), ('Corr', 'corr', 1), ('Acc-2', 'binary_acc', 100), ('F1', 'f1', 100),
                        ('Acc-7', 'mult_acc', 100)),
               'pom': (('MAE', 'mae', 1), ('Corr', 'corr', 1), ('Acc', 'acc', 100))}
    for dataset, title in (('mosi', 'CMU-MOSI'), ('pom', 'POM')):
        row = this_repo(table_rows(text, title))
        for column, key, scale in columns[dataset]:
            assert_cell(row[column], metric(dataset, ranks[dataset], key, scale))
    rank_rows = table_rows(text, 'rank')
    assert sorted(int(r) for r in rank_rows) == [1, 2, 4, 8, 16, 32, 64]
    for rank, cells in rank_rows.items():
        assert cells['seeds'] == str(seeds)
        assert_cell(cells['MAE'], metric('mosi', rank, 'mae'))
        assert_cell(cells['Corr'], metric('mosi', rank, 'corr'))
    # MMSA's tables: rows --recipe mmsa and default, a column per MMSA metric (its name), x100 as MMSA's table
    names = {'mosi': ('Has0_acc_2', 'Has0_F1_score', 'Non0_acc_2', 'Non0_F1_score', 'Mult_acc_5', 'Mult_acc_7', 'MAE',
                      'Corr'), 'sims': ('Mult_acc_2', 'Mult_acc_3', 'Mult_acc_5', 'F1_score', 'MAE', 'Corr')}
    for dataset, title, kind, rank in (('mosi', 'CMU-MOSI (MMSA)', 'mosi', 4), ('mosei', 'CMU-MOSEI (MMSA)', 'mosi', 5),
                                       ('sims', 'CH-SIMS (MMSA)', 'sims', 3), ('simsv2', 'CH-SIMS v2 (MMSA)', 'sims', 4)):
        rows = table_rows(text, title)
        assert [label.split(',')[0] for label in rows] == [
            "MMSA's published LMF (mean of 5 seeds)", "--recipe mmsa (MMSA's training", 'default (defects fixed)']
        for recipe, label in (('mmsa', '--recipe mmsa'), ('ours', 'default')):
            (cells,) = [c for row_label, c in rows.items() if row_label.startswith(label)]
            for name in names[kind]:
                assert_cell(cells[name], metric('mmsa-{}-{}'.format(dataset, recipe), rank, name, 100))
    # the robustness study: LMF and TFN from robustness.json, the subsets' clean scores from their run records
    studies = {'happy': ('IEMOCAP happy', 'f1', 1), 'mosi': ('CMU-MOSI', 'binary_acc', 4),
               'mmsa-mosi-ours': ("CMU-MOSI, MMSA's layout", 'Non0_acc_2', 4)}
    for base in study:
        title, key, rank = studies[base]
        section = text[re.search(r'^### {}( \(SYNTHETIC data\))?$'.format(re.escape(title)), text, re.M).start():]
        section = section[:section.index('\n### ') if '\n### ' in section else len(section)]
        rows = table_rows(section, 'model')
        for model, task, task_rank in (('LMF', base, rank), ('TFN', base + '~tfn', 0)):
            (cells,) = [c for label, c in rows.items() if label.startswith(model + ' (')]
            folders = [os.path.dirname(p) for p in sorted(glob.glob(os.path.join(
                str(out), 'runs', task, '*', 'rank_{}'.format(task_rank), 'seed_*', 'train_*.json')))]
            found = [read_json(os.path.join(folder, 'robustness.json')) for folder in folders]
            assert len(found) == seeds and all(r['metric'] == key and len(r['scores']) == 1 + 4 * 9 + 3 for r in found)
            scores = [r['scores'] for r in found]
            assert_cell(cells['clean'], [100 * s['clean'] for s in scores])
            for target in ('audio', 'video', 'text', 'all'):
                names_ = ['clean'] + ['noise {} 0.{}'.format(target, i) for i in range(1, 10)]
                assert_cell(cells['relative robustness, noise on ' + target],
                            [100 * np.trapezoid([s[n] for n in names_], dx=0.1) for s in scores])
            for modality in ('audio', 'video', 'text'):
                assert_cell(cells[modality + ' missing'], [100 * s['missing ' + modality] for s in scores])
        for subset, cell in table_rows(section, 'modalities')['LMF'].items():
            task = base if subset == 'audio,video,text' else base + '~lmf-' + subset
            assert_cell(cell, metric(task, rank, key, 100))
        assert (out / 'robustness_{}.png'.format(base)).exists()
    # the random-missing study: each row from the missing.json of its task's runs
    studies['mmsa-sims-ours'] = ("CH-SIMS, MMSA's layout", 'Mult_acc_2', 3)
    missing_part = text[text.index('## Missing modalities as the literature measures them'):]
    for base in missing_study:
        title, key, rank = studies[base]
        section = missing_part[re.search(r'^### {}( \(SYNTHETIC data\))?$'.format(re.escape(title)), missing_part,
                                         re.M).start():]
        section = section[:section.index('\n### ') if '\n### ' in section else len(section)]
        by_rate, mmin = table_rows(section, 'model'), table_rows(section[section.index("MMIN's"):], 'model')
        for label, task, task_rank in (('LMF, trained clean', base, rank), ('TFN, trained clean', base + '~tfn', 0),
                                       ('LMF, trained with --train_missing 0.5', base + '~lmf+missing', rank),
                                       ('TFN, trained with --train_missing 0.5', base + '~tfn+missing', 0)):
            folders = [os.path.dirname(p) for p in sorted(glob.glob(os.path.join(
                str(out), 'runs', task, '*', 'rank_{}'.format(task_rank), 'seed_*', 'train_*.json')))]
            found = [read_json(os.path.join(folder, 'missing.json')) for folder in folders]
            assert len(found) == seeds and all(r['metric'] == key and len(r['scores']) == 1 + 9 + 6 for r in found)
            rates = [[s['clean']] + [s['rate 0.{}'.format(i)] for i in range(1, 10)] for s in
                     (r['scores'] for r in found)]
            for i in range(10):
                assert_cell(by_rate[label]['r = {:g}'.format(i / 10)], [100 * run[i] for run in rates])
            assert_cell(by_rate[label]['mean over r'], [100 * np.mean(run) for run in rates])
            assert_cell(mmin[label]['clean'], [100 * r['scores']['clean'] for r in found])
            for missing in ('audio', 'video', 'text', 'audio,video', 'audio,text', 'video,text'):
                assert_cell(mmin[label][missing + ' missing'], [100 * r['scores']['missing ' + missing] for r in found])
        assert (out / 'missing_{}.png'.format(base)).exists()
    # Table 3 from runs/efficiency/efficiency.json
    measured = read_json(os.path.join(str(out), 'runs', 'efficiency', 'efficiency.json'))['values']
    efficiency = table_rows(text, 'model')
    for model in ('lmf', 'tfn'):
        cells = efficiency['this run, {} (CPU)'.format(model.upper())]
        assert int(cells['parameters'].replace(',', '')) == measured[model + '_params']
        for column, key in (('training samples/s', '_train'), ('inference samples/s', '_infer')):
            assert abs(float(cells[column]) - measured[model + key]) <= 0.5 + 1e-9
    assert 'CPU: ' in text and 'not run' not in text and 'Incomplete' not in text


def test_quick_trains_every_run_into_its_folder_and_writes_the_tables_and_figures(quick_run):
    out, proc = quick_run
    text = (out / 'RESULTS.md').read_text()
    for heading in ('## Table 1: CMU-MOSI and POM', '## Table 2: IEMOCAP, F1 per emotion',
                    '## Table 3: efficiency, LMF against TFN', '## Rank study', '![', 'SYNTHETIC',
                    'paper (LMF)', 'earlier Paddle port'):
        assert heading in text, heading
    for figure in ('rank.png', 'robustness_happy.png'):
        assert (out / figure).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    lines = proc.stdout.splitlines()
    assert '{0} training runs: 0 recorded, {0} to train; then the efficiency measurement'.format(QUICK_RUNS) in lines
    assert lines[-2:] == ['measuring LMF against TFN ...', 'wrote {}'.format(out / 'RESULTS.md')]
    progress = [line for line in lines if line.startswith('[') and not line.startswith('[robustness')]
    # a line per run as it finishes (side by side, not always in the planned order), counting up
    assert [line.split(']')[0] for line in progress] == ['[{}/{}'.format(i + 1, QUICK_RUNS) for i in range(QUICK_RUNS)]
    assert any(re.match(r'\[\d+/\d+\] happy rank 1 seed 2967694878: F1 ', line) for line in progress)
    assert ' | 0 left, about ' in progress[-1]
    # LMF and TFN, trained clean and with missing data, 2 seeds each, on IEMOCAP happy and CH-SIMS
    assert sum(line.startswith('[robustness 1/1] ') for line in lines) == 16
    finished = glob.glob(os.path.join(str(out), RUN_RECORDS))
    assert len(finished) == QUICK_RUNS and all('/mosi_quick-' in p for p in finished if '/mosi/' in p)
    for record in finished:
        name = os.path.basename(record)[len('train_'):-len('.json')]
        assert sorted(os.listdir(os.path.dirname(record))) == sorted(
            [name + '.pdparams', 'train_{}.txt'.format(name), 'train_{}.json'.format(name)]
            + (['robustness.json'] if '/happy/' in record or '/happy~tfn/' in record else [])
            + (['missing.json'] if re.search('/(happy|mmsa-sims-ours)(~tfn)?(~lmf)?(\\+missing)?/', record) else []))
    assert sorted(os.listdir(str(out / 'runs' / 'efficiency'))) == ['efficiency.json']


def test_every_quick_table_cell_is_its_records(quick_run):
    assert_tables_are_the_records(quick_run[0], seeds=2)


def test_the_study_drops_what_test_py_drops_at_the_same_missing_seed(quick_run):
    """A study run's 'rate 0.5' and 'missing audio,video' scores are test.py's on its checkpoint at --missing_rate 0.5
    (missing seed 1111) and --missing audio,video."""
    import test as test_script
    out = quick_run[0]
    (folder,) = glob.glob(os.path.join(str(out), 'runs', 'happy~lmf+missing', '*', 'rank_1', 'seed_2967694879'))
    scores = read_json(os.path.join(folder, 'missing.json'))['scores']
    for flags, condition in ((('--missing_rate', '0.5'), 'rate 0.5'), (('--missing', 'audio,video'),
                                                                       'missing audio,video')):
        proc = run_command(test_script, '--emotion', 'happy', '--check_path', os.path.join(folder, 'happy.pdparams'),
                           '--data_path', out / 'data' / 'iemocap_quick.pkl', *flags)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        f1 = float(re.search(r'^F1-score on test set is ([0-9.]+)$', proc.stdout, re.M).group(1))
        assert abs(f1 - scores[condition]) < 1e-9, (condition, f1, scores[condition])


def test_every_checkpoint_exports_as_trained(quick_run, tmp_path):
    """A run's checkpoint and record hold the text length of its file, as train.py's do, so that export_model.py
    writes the model for that length without being told (MMSA's files have 39 or 50 steps, the paper's pickles 20)."""
    import export_model
    import infer
    out = quick_run[0]
    for record in glob.glob(os.path.join(str(out), RUN_RECORDS)):
        (checkpoint,) = glob.glob(os.path.join(os.path.dirname(record), '*.pdparams'))
        steps = 8 if '/mmsa-' in record else 20  # reproduce.QUICK_STEPS; the authors' layout's 20 steps
        assert checkpoints.load_checkpoint(checkpoint)[1]['seq_len'] == steps == read_json(record)['settings'][
            'seq_len'], record
    (checkpoint,) = glob.glob(os.path.join(str(out), 'runs', 'mmsa-sims-ours', '*', 'rank_3', 'seed_1111', '*.pdparams'))
    data, inference = out / 'data' / 'mmsa-sims_quick.pkl', tmp_path / 'inference'
    export = run_command(export_model, '--dataset', 'sims', '--check_path', checkpoint, '--data_path', data,
                      '--save_inference_dir', inference)
    assert export.returncode == 0, export.stdout + export.stderr
    predicted = run_command(infer, '--dataset', 'sims', '--save_inference_dir', inference, '--data_path', data,
                         '--output_dir', tmp_path / 'pred')
    assert predicted.returncode == 0, predicted.stdout + predicted.stderr


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
    # a run recorded with other settings is not a finished run of these: it trains again
    (record,) = glob.glob(os.path.join(str(copy), 'runs', 'pom', '*', 'rank_4', 'seed_0', 'train_pom.json'))
    changed = read_json(record)
    changed['settings']['batch_size'] += 1
    with open(record, 'w') as f:
        json.dump(changed, f)
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


def children(pid):
    """The pids of pid's child processes (Linux /proc)."""
    found = []
    for stat in glob.glob('/proc/[0-9]*/stat'):
        try:
            with open(stat) as f:
                if int(f.read().rsplit(')', 1)[1].split()[1]) == pid:
                    found.append(int(stat.split('/')[2]))
        except (OSError, ValueError, IndexError):
            pass
    return found


def test_runs_side_by_side_give_the_numbers_of_runs_one_at_a_time(tmp_path):
    numbers = []
    for jobs in ('1', '2'):
        out = tmp_path / ('jobs' + jobs)
        proc = quick(out, '--only', 'happy,mosi', '--jobs', jobs, '--cpu_threads', '1')
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert ('2 runs side by side, 1 CPU thread each' in proc.stdout) == (jobs == '2'), proc.stdout
        numbers.append({os.path.relpath(p, str(out)): (read_json(p)['metrics'], read_json(p)['machine'])
                        for p in glob.glob(os.path.join(str(out), RUN_RECORDS))})
        numbers[-1]['RESULTS.md'] = (out / 'RESULTS.md').read_text()
    assert len(numbers[0]) == 4 + 1 and numbers[0] == numbers[1]
    assert {numbers[1][key][1]['cpu_threads'] for key in numbers[1] if key != 'RESULTS.md'} == {1}


# The interrupted run trains IEMOCAP's four emotions at 2 seeds: enough runs to stop it twice in the middle, and
# their folders are the full quick run's, to compare with.
RESUMED_PARTS, RESUMED_RUNS = 'iemocap', 8


def test_interrupted_and_killed_runs_finish_without_retraining_and_with_the_same_numbers(quick_run, tmp_path):
    out = tmp_path / 'resumed'
    cmd = [sys.executable, 'reproduce.py', '--quick', '--out', str(out), '--only', RESUMED_PARTS,
           '--jobs', '2', '--cpu_threads', '1']  # runs side by side; quick_run's default threads
    # Ctrl-C: one line saying what is kept, exit 130 (SIGINT at its default in the child: a shell that started
    # this suite in the background hands it down ignored, and Python then installs no KeyboardInterrupt)
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    wait_for_runs(out, 2, proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and 'Traceback' not in stderr, stdout + stderr
    kept = len(glob.glob(os.path.join(str(out), RUN_RECORDS)))
    assert 'interrupted: {} of {} training runs are recorded'.format(kept, RESUMED_RUNS) in stderr, stderr
    # a kill (no chance to clean up), later in the next attempt
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_runs(out, kept + 3, proc)
    workers = children(proc.pid)
    assert len(workers) >= 2
    proc.kill()
    proc.communicate(timeout=60)
    deadline = time.time() + 10
    while any(os.path.exists('/proc/{}'.format(w)) for w in workers) and time.time() < deadline:
        time.sleep(0.05)
    assert not any(os.path.exists('/proc/{}'.format(w)) for w in workers), 'a worker trains on after the kill'
    before = files_of(out)
    finished = len(glob.glob(os.path.join(str(out), RUN_RECORDS)))
    assert kept + 3 <= finished < RESUMED_RUNS
    last = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert last.returncode == 0, last.stdout + last.stderr
    assert '{} recorded, {} to train'.format(finished, RESUMED_RUNS - finished) in last.stdout, last.stdout
    after = files_of(out)
    assert {p: after[p] for p in before} == before  # no finished run trained again
    assert len(after) == 3 * RESUMED_RUNS  # log, checkpoint and record per run
    # same seeds, same numbers as the run that was never stopped, run by run
    records = sorted(glob.glob(os.path.join(str(out), RUN_RECORDS)))
    assert len(records) == RESUMED_RUNS
    for path in records:
        uninterrupted = read_json(os.path.join(str(quick_run[0]), os.path.relpath(path, str(out))))
        assert read_json(path)['metrics'] == uninterrupted['metrics'], path


def test_a_worker_killed_mid_run_is_one_error_line_not_a_hang(tmp_path):
    """The out-of-memory killer's SIGKILL on a worker: the command stops the other workers and exits with one
    line, keeping what finished."""
    out = tmp_path / 'killed'
    proc = subprocess.Popen([sys.executable, 'reproduce.py', '--quick', '--out', str(out), '--only', RESUMED_PARTS,
                             '--jobs', '2', '--cpu_threads', '1'], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    wait_for_runs(out, 1, proc)
    workers = [pid for pid in children(proc.pid) if b'spawn_main' in open('/proc/{}/cmdline'.format(pid), 'rb').read()]
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=60)
    assert_clean_error(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr),
                       'a --jobs worker process died', 'what finished before is kept')
    assert proc.returncode == 2 and not os.path.exists('/proc/{}'.format(workers[1])), stdout + stderr


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
    assert this_repo(table_rows(text, 'POM'))['MAE'].endswith(' (1 seed)')
    assert 'Incomplete' not in text  # parts left out by --only are 'not run', not incomplete
    assert 'python reproduce.py --quick --only efficiency' in text and 'python reproduce.py --quick --only rank' in text
    assert not (out / 'rank.png').exists()
    # another data file: its runs go to their own folder; the first file's run stays
    first = glob.glob(str(out / RUN_RECORDS))
    from data import pom
    pom.write_sample_data(str(out / 'data' / 'pom_quick.pkl'), seed=1, sizes=reproduce.QUICK_SIZES)
    (older,) = first
    was = os.stat(older).st_mtime
    os.utime(older, (time.time() + 3600,) * 2)  # the other file's run the newest record: the file trained still shows
    again = quick(out, '--only', 'pom', '--seeds', '1')
    assert '1 training runs: 0 recorded, 1 to train' in again.stdout, again.stdout + again.stderr
    both = glob.glob(str(out / RUN_RECORDS))
    assert len(both) == 2 and set(first) < set(both)
    (newest,) = set(both) - set(first)
    mae = read_json(newest)['metrics']['mae']
    assert mae != read_json(older)['metrics']['mae']
    assert this_repo(table_rows((out / 'RESULTS.md').read_text(), 'POM'))['MAE'] == '{:.3f} (1 seed)'.format(mae)
    os.utime(older, (was,) * 2)
    # --tables_only shows one data file's runs, never a mix: here (one run each) the newest
    tables_only = quick(out, '--only', 'pom', '--seeds', '1', '--tables_only')
    assert tables_only.returncode == 0, tables_only.stdout + tables_only.stderr
    cell = this_repo(table_rows((out / 'RESULTS.md').read_text(), 'POM'))['MAE']
    assert cell == '{:.3f} (1 seed)'.format(read_json(newest)['metrics']['mae'])
    # a later --only keeps the tables of the parts it leaves out
    later = quick(out, '--only', 'happy', '--seeds', '1')
    assert later.returncode == 0, later.stdout + later.stderr
    text = (out / 'RESULTS.md').read_text()
    assert this_repo(table_rows(text, 'POM'))['MAE'] == cell
    assert this_repo(table_rows(text, 'IEMOCAP F1'))['happy'].endswith(' (1 seed)')


@pytest.mark.parametrize('flags, fragments', [
    (('--only', 'happy,joy'), ("'joy'", 'iemocap', 'efficiency')),
    (('--only', ','), ('--only', 'no part given')),
    (('--seeds', '0'), ('--seeds', '>= 1')),
    (('--jobs', '0'), ('--jobs', '>= 1')),
    (('--ranks', '4,x'), ('--ranks', 'integers')),
    (('--ranks', '0,4'), ('--ranks', '>= 1')),
])
def test_bad_flags_are_one_line(tmp_path, flags, fragments):
    proc = quick(tmp_path / 'out', *flags)
    assert_clean_error(proc, *fragments)
    assert proc.returncode == 2 and not (tmp_path / 'out').exists()


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


def test_tables_only_rewrites_the_committed_results_byte_for_byte_from_their_records(tmp_path):
    """results/RESULTS.md (the README quotes it) and its figures are rebuilt from results/runs/'s records."""
    copy = tmp_path / 'results'
    shutil.copytree(COMMITTED, str(copy))
    for path in glob.glob(str(copy / '*.png')):
        os.remove(path)
    proc = run_command(reproduce, '--tables_only', '--out', copy)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ['RESULTS.md'] + [os.path.basename(p) for p in glob.glob(os.path.join(COMMITTED, '*.png'))]:
        with open(os.path.join(COMMITTED, name), 'rb') as f:
            assert (copy / name).read_bytes() == f.read(), name


def test_every_committed_table_cell_is_its_records():
    assert_tables_are_the_records(pathlib.Path(COMMITTED), seeds=5, study=robustness.STUDY,
                                  missing_study=robustness.MISSING_STUDY)


def test_a_rerun_on_the_committed_results_trains_nothing(tmp_path):
    """Every committed run's record has the settings reproduce.py plans for it (the checkpoints are not
    committed: here empty files stand in for them), so `python reproduce.py` beside them would train none of them,
    and the robustness study has evaluated every run it studies (and none of the rank study's)."""
    copy = tmp_path / 'runs'
    shutil.copytree(os.path.join(COMMITTED, 'runs'), str(copy))
    data_ids = reproduce.recorded_data_ids(str(tmp_path))
    planned = reproduce.locate(str(tmp_path), reproduce.plan(reproduce.PARTS, 5, reproduce.RANKS, False), data_ids)
    for task, _, _, _, folder in planned:
        open(os.path.join(folder, reproduce.INFO[task].name + '.pdparams'), 'w').close()
        record = reproduce.record_of(folder, task)
        assert record['data']['sha256'].startswith(os.path.basename(os.path.dirname(os.path.dirname(folder))).rsplit(
            '-', 1)[1])  # the data folder names the file's hash
    assert len(planned) == COMMITTED_RUNS == len(glob.glob(os.path.join(str(tmp_path), RUN_RECORDS)))
    assert [r[:3] for r in planned if not reproduce.trained(r)] == []
    assert reproduce.unevaluated(planned, quick=False) == []