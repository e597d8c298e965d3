"""The README and docs/ as a newcomer uses them: short README with the quick start and the file map on the
first screen, links that lead somewhere, every command shown accepted by the script it runs, the quick start
run as written, and the published hyperparameter tables equal to the code's."""
import argparse
import contextlib
import glob
import importlib.util
import inspect
import io
import os
import re
import shlex
import sys

import pytest

from helpers import REPO, run_script

README = os.path.join(REPO, 'README.md')
DOCS = sorted(glob.glob(os.path.join(REPO, 'docs', '*.md')))
OTHER_DOCS = [os.path.join(REPO, 'BENCHMARKS.md'), os.path.join(REPO, 'test_tipc', 'README.md')]
ALL_DOCS = [README] + DOCS + OTHER_DOCS
EMOTIONS = ('happy', 'sad', 'angry', 'neutral')  # the order train.sh and run_lfm.sh go through
MAX_README_CHARS = 16500  # grew by MMSA's files and the robustness study; details stay in docs/
FIRST_SCREEN = 80  # lines

# Top-level entries the file map need not list: generated outputs, environments, caches.
NOT_IN_MAP = {'.venv', '__pycache__', 'check', 'train_log', 'results_quick', 'search', 'log', 'out_prob', 'out_pred',
              'check_inference'}

# The repository's command-line scripts, as a command names them.
SCRIPTS = ('train.py', 'test.py', 'export_model.py', 'infer.py', 'search.py', 'reproduce.py', 'benchmark.py',
           'benchmarks/learning_parity.py', 'benchmarks/torch_train.py', 'data/make_sample_data.py')
# What the shell scripts pass their extra arguments to.
SHELL_SCRIPTS = {'train.sh': 'train.py', 'run_lfm.sh': 'test.py'}
# Flags of other programs that the docs show: Paddle's launcher, the paddle2onnx converter, TIPC's standard layout.
FOREIGN_FLAGS = {'--nproc_per_node', '--master', '--nnodes', '--model_dir', '--model_filename', '--params_filename',
                 '--save_file', '--opset_version', '--optimize_tool', '--enable_onnx_checker', '--pretrained'}

TRACKER = re.compile(r'\bissues?\s*#?\d|\bstop\s*#?\d|\bresolved\b|\bdone[- ]when\b|\bgoals? of\b|\btickets?\b'
                     r'|\bTODO\b|\bFIXME\b|\bPR\s*#?\d|(?:^|\s)#\d+\b', re.IGNORECASE)
FENCE = re.compile(r'^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$', re.MULTILINE | re.DOTALL)
LINK = re.compile(r'!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
FLOAT = r'-?\d+\.\d+(?:e[-+]?\d+)?'


def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


def rel(path):
    return os.path.relpath(path, REPO)


def without_fences(text):
    """The text with fenced code blocks blanked (line count kept), so headings and links in code do not count."""
    return FENCE.sub(lambda m: '\n' * m.group(0).count('\n'), text)


def fenced_blocks(text, languages=('', 'bash', 'sh', 'shell', 'console')):
    """(language, body, line number of the opening fence) of every fenced block in one of `languages`."""
    return [(m.group(1), m.group(2), text.count('\n', 0, m.start()) + 1)
            for m in FENCE.finditer(text) if m.group(1) in languages]


def github_slug(heading):
    slug = re.sub(r'[^\w\- ]', '', heading.strip().lower())
    return slug.replace(' ', '-')


def anchors(path):
    """The anchors GitHub gives the headings of a Markdown file (duplicates numbered -1, -2, ...)."""
    seen, result = {}, set()
    for line in without_fences(read(path)).splitlines():
        m = re.match(r'#{1,6}\s+(.*?)\s*#*\s*$', line)
        if not m:
            continue
        slug = github_slug(m.group(1))
        if slug in seen:
            seen[slug] += 1
            slug = '{}-{}'.format(slug, seen[slug])
        else:
            seen[slug] = 0
        result.add(slug)
    return result


def section(text, heading):
    """(first line index, lines) of the section under `heading` up to the next heading of the same or higher level."""
    lines = without_fences(text).splitlines()
    level = heading.split()[0]
    start = lines.index(heading)
    end = next((i for i in range(start + 1, len(lines))
                if lines[i].startswith('#') and len(lines[i].split()[0]) <= len(level)
                and set(lines[i].split()[0]) == {'#'}), len(lines))
    return start, lines[start:end]


# ---------------------------------------------------------------- README: size, first screen, file map

def file_map():
    """[(line index in the README, the path the entry names)] of the README's file map."""
    start, lines = section(read(README), '## File map')
    entries = []
    for i, line in enumerate(lines):
        if line.startswith('- '):
            m = re.match(r'- \[`([^`]+)`\]\(([^)]+)\): \S', line)
            assert m and m.group(1).rstrip('/') == m.group(2).rstrip('/'), 'file map entry: ' + line
            entries.append((start + i, m.group(2).rstrip('/')))
    return entries


def test_readme_is_short_and_starts_with_the_quick_start_and_the_file_map():
    text = read(README)
    assert len(text) <= MAX_README_CHARS, 'README.md has {} characters; move details to docs/'.format(len(text))
    first_screen = '\n'.join(text.splitlines()[:FIRST_SCREEN])
    blocks = fenced_blocks(first_screen, ('bash',))
    assert blocks, 'no bash block in the first {} lines'.format(FIRST_SCREEN)
    commands = [shlex.split(line, comments=True) for line in blocks[0][1].splitlines()]
    assert [c for c in commands if c] == [['pip', 'install', '-r', 'requirements.txt'], ['bash', 'train.sh'],
                                          ['bash', 'run_lfm.sh']]
    entries = file_map()
    assert len(entries) >= 10
    assert entries[-1][0] < FIRST_SCREEN, 'the file map must end within the first {} lines'.format(FIRST_SCREEN)


def test_every_file_in_the_file_map_exists():
    missing = [path for _, path in file_map() if not os.path.exists(os.path.join(REPO, path))]
    assert not missing, 'the README file map names files that do not exist: {}'.format(missing)


def test_the_file_map_lists_every_script_and_folder():
    listed = {path.split('/')[0] for _, path in file_map()}
    top = [name for name in os.listdir(REPO)
           if not name.startswith('.') and name not in NOT_IN_MAP
           and (name.endswith(('.py', '.sh')) or os.path.isdir(os.path.join(REPO, name)))]
    missing = sorted(set(top) - listed)
    assert not missing, 'not in the README file map: {}'.format(missing)


# ---------------------------------------------------------------- links and wording

@pytest.mark.parametrize('path', ALL_DOCS, ids=rel)
def test_relative_links_lead_to_existing_files_and_headings(path):
    broken = []
    for target in LINK.findall(without_fences(read(path))):
        if re.match(r'[a-z][a-z0-9+.-]*:', target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition('#')
        linked = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
        if not os.path.exists(linked):
            broken.append(target)
        elif anchor and linked.endswith('.md') and anchor not in anchors(linked):
            broken.append(target + ' (no such heading)')
    assert not broken, '{}: {}'.format(rel(path), broken)


@pytest.mark.parametrize('path', ALL_DOCS, ids=rel)
def test_no_tracker_language(path):
    hits = ['line {}: {}'.format(n, line.strip()) for n, line in enumerate(read(path).splitlines(), 1)
            if TRACKER.search(line)]
    assert not hits, '{} speaks of the project tracker instead of stating facts: {}'.format(rel(path), hits)


# ---------------------------------------------------------------- commands against the scripts' parsers

class _Parsed(Exception):
    def __init__(self, parser, namespace):
        super().__init__()
        self.parser, self.namespace = parser, namespace


_MODULES = {}


def script_module(script):
    """The script imported from its file (as `lmf_script_<name>`: `test` would be the standard library's)."""
    if script not in _MODULES:
        name = 'lmf_script_' + re.sub(r'\W', '_', script[:-3])
        spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, script))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _MODULES[script] = module
    return _MODULES[script]


def parse_with_script(script, args, parse=True):
    """Parse `args` with the argument parser of a repository script, stopping right after parsing.

    Works for scripts with parse_args(argv), main(argv) or main() (sys.argv). Returns (parser, namespace);
    a rejected command line fails the test with argparse's message. parse=False: the parser only."""
    module = script_module(script)
    real_parse = argparse.ArgumentParser.parse_args

    def parse_and_stop(parser, argv=None, namespace=None):
        raise _Parsed(parser, real_parse(parser, argv, namespace) if parse else None)

    saved_argv, stderr = sys.argv, io.StringIO()
    argparse.ArgumentParser.parse_args = parse_and_stop
    sys.argv = [script] + list(args)
    try:
        with contextlib.redirect_stderr(stderr):
            if hasattr(module, 'parse_args'):
                module.parse_args(list(args))
            elif inspect.signature(module.main).parameters:
                module.main(list(args))
            else:
                module.main()
    except _Parsed as parsed:
        return parsed.parser, parsed.namespace
    except SystemExit:
        pytest.fail('{} rejects {}: {}'.format(script, ' '.join(args), stderr.getvalue().strip()))
    finally:
        argparse.ArgumentParser.parse_args = real_parse
        sys.argv = saved_argv
    pytest.fail('{} returned without parsing its arguments'.format(script))


def option_strings(script):
    parser, _ = parse_with_script(script, [], parse=False)
    return set(parser._option_string_actions)


def simple_commands(body):
    """Each simple command (a token list) of a shell block: continuation lines joined, a leading '$ ' prompt
    dropped, comments removed, split at && ; || and |. Lines with placeholders (<...>, ...) are left out."""
    commands = []
    for line in re.sub(r'\\\n\s*', ' ', body).splitlines():
        line = re.sub(r'^\$ ', '', line.strip())
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:  # an output line, not a command
            continue
        if any('...' in t or '<' in t or '>' in t for t in tokens):
            continue
        current = []
        for token in tokens + ['&&']:
            if token in ('&&', '||', ';', '|'):
                if current:
                    commands.append(current)
                current = []
            else:
                current.append(token)
    return commands


def script_invocation(tokens):
    """(script, its arguments, environment assignments) of a command that runs a repository script, else None."""
    env = {}
    while tokens and re.match(r'[A-Z_][A-Z0-9_]*=', tokens[0]):
        name, _, value = tokens[0].partition('=')
        env[name] = value
        tokens = tokens[1:]
    if len(tokens) >= 2 and tokens[0] == 'bash' and tokens[1] in SHELL_SCRIPTS:
        return tokens[1], tokens[2:], env
    if tokens and tokens[0] in ('python', 'python3'):
        rest = tokens[1:]
        if rest[:2] == ['-m', 'paddle.distributed.launch']:  # the launcher's flags, then the script and its own
            rest = rest[next((i for i, t in enumerate(rest) if t.endswith('.py')), len(rest)):]
        script = re.sub(r'^\./', '', rest[0]) if rest else None
        if script in SCRIPTS:
            return script, rest[1:], env
    return None


def shown_commands():
    """[(where, script, args, env)] for every repository-script command in a shell or plain block of the docs."""
    found = []
    for path in ALL_DOCS:
        for _, body, line in fenced_blocks(read(path)):
            for tokens in simple_commands(body):
                invocation = script_invocation(tokens)
                if invocation:
                    found.append(('{}:{}'.format(rel(path), line),) + invocation)
    return found


def test_the_docs_show_a_command_for_every_script():
    shown = {script for _, script, _, _ in shown_commands()}
    expected = {'train.py', 'test.py', 'export_model.py', 'infer.py', 'search.py', 'reproduce.py', 'benchmark.py',
                'train.sh', 'run_lfm.sh'}
    assert expected <= shown, 'no command shown for {}'.format(sorted(expected - shown))


def test_every_command_shown_is_accepted_by_the_script():
    """A flag renamed or removed in the code, or a value it no longer accepts, fails here."""
    checked = 0
    for where, script, args, env in shown_commands():
        if script in SHELL_SCRIPTS:
            text = read(os.path.join(REPO, script))
            for name in env:
                assert '${' + name in text or '$' + name in text, '{}: {} does not read {}'.format(where, script,
                                                                                                   name)
            script = SHELL_SCRIPTS[script]
        parser, _ = parse_with_script(script, args)
        for token in args:
            flag = token.split('=')[0]
            if flag.startswith('--'):
                # exact names only: argparse would also accept an abbreviation of a renamed flag
                assert flag in parser._option_string_actions, '{}: {} has no flag {}'.format(where, script, flag)
        checked += 1
    assert checked >= 30


def test_every_flag_the_docs_mention_exists():
    """Flags named in prose and tables too (`--use_onnx True`, `--prune_warmup`, ...)."""
    known = set(FOREIGN_FLAGS)
    for script in SCRIPTS:
        known |= option_strings(script)
    unknown = []
    for path in ALL_DOCS:
        text = re.sub(r'https?://\S+', '', read(path))
        for flag in re.findall(r'(?<![\w-])--[a-z][a-z0-9_-]*', text):
            if flag.rstrip('_-') not in known:
                unknown.append('{}: {}'.format(rel(path), flag))
    assert not unknown, 'flags no script has: {}'.format(sorted(set(unknown)))


# ---------------------------------------------------------------- the published hyperparameters

HPARAM_HEADER = ['audio_hidden', 'video_hidden', 'text_hidden', 'audio/video/text dropout', 'rank', 'factor_lr', 'lr',
                 'batch', 'weight_decay', 'seed']


def published_tables():
    from lmf import hparams
    return hparams.HPARAMS


def cells(line):
    return [c.strip() for c in line.strip().strip('|').split('|')]


def test_the_hyperparameter_tables_show_the_published_values():
    """README.md and docs/ repeat the published hyperparameters of every task for readers; every row that shows
    them must agree with the code, under the header that names the columns."""
    rows = {}
    for path in [README] + DOCS:
        lines = read(path).splitlines()
        for i, line in enumerate(lines):
            if line.startswith('|') and not line.startswith('|-'):
                rows.setdefault(cells(line)[0], []).append((path, lines, i))
    for family, tasks in published_tables().items():
        for task, hp in tasks.items():
            name = 'MMSA ' + task if family == 'mmsa' else task  # 'mosi' is a row of both families
            assert name in rows, 'no row for {} {} in README.md or docs/'.format(family, name)
            for path, lines, i in rows[name]:
                where = '{}:{}'.format(rel(path), i + 1)
                row = cells(lines[i])
                header = next(lines[j] for j in range(i, -1, -1)
                              if lines[j].startswith('|') and (j == 0 or not lines[j - 1].startswith('|')))
                assert cells(header)[1:] == HPARAM_HEADER, where
                assert len(row) == 11, where
                assert [int(row[1]), int(row[2]), int(row[3])] == [hp['audio_hidden'], hp['video_hidden'],
                                                                   hp['text_hidden']], where
                assert [float(x) for x in row[4].split('/')] == [hp['audio_dropout'], hp['video_dropout'],
                                                                 hp['text_dropout']], where
                assert [int(row[5]), float(row[6]), float(row[7]), int(row[8]), float(row[9]), int(row[10])] == [
                    hp['rank'], hp['factor_learning_rate'], hp['learning_rate'], hp['batch_size'],
                    hp['weight_decay'], hp['seed']], where


# ---------------------------------------------------------------- the quick start, run as written

def shown_output(doc_lines, actual, substitutions=()):
    """Assert that the output lines a document shows appear in `actual` (a string): runs of shown lines must
    appear as consecutive lines, in order; a shown line starting with '...' stands for any lines; decimals
    stand for any decimal (scores differ with the data), everything else must match exactly."""
    runs, run = [], []
    for line in doc_lines:
        if line.startswith('...'):
            runs.append(run)
            run = []
            continue
        for old, new in substitutions:
            line = line.replace(old, '\0{}\0'.format(new))
        parts = []
        for k, literal in enumerate(line.split('\0')):  # odd parts: substituted text, taken literally
            parts.append(re.escape(literal) if k % 2 else FLOAT.join(re.escape(p) for p in re.split(FLOAT, literal)))
        run.append(''.join(parts))
    runs.append(run)
    actual_lines = actual.splitlines()
    position = 0
    for run in [r for r in runs if r]:
        while run and not run[-1].strip():
            run = run[:-1]
        for start in range(position, len(actual_lines) - len(run) + 1):
            if all(re.fullmatch(p, actual_lines[start + k]) for k, p in enumerate(run)):
                position = start + len(run)
                break
        else:
            pytest.fail('output does not show, in order:\n{}\n--- actual output:\n{}'.format(
                '\n'.join(run), actual))


def readme_run_lfm_output():
    """The output block the README shows for `bash run_lfm.sh`."""
    for _, body, _ in fenced_blocks(read(README), ('',)):
        if 'Start testing happy......' in body:
            return body.splitlines()
    pytest.fail('README.md shows no output of bash run_lfm.sh')


@pytest.fixture(scope='module')
def quick_start(tmp_path_factory):
    """`bash train.sh` then `bash run_lfm.sh` as the README's quick start runs them, on a small SYNTHETIC
    pickle (DATA_PATH) for 2 epochs (train.sh forwards extra arguments to train.py)."""
    tmp = tmp_path_factory.mktemp('quick_start')
    data = str(tmp / 'small.pkl')
    proc = run_script('data/make_sample_data.py', '--out', data, '--train', '48', '--valid', '16', '--test', '24')
    assert proc.returncode == 0, proc.stderr
    env = {'DATA_PATH': data, 'CHECK_DIR': str(tmp / 'check'), 'LOG_DIR': str(tmp / 'log')}
    train = run_script('bash', 'train.sh', '--epochs', '2', env=env)
    evaluate = run_script('bash', 'run_lfm.sh', env=env)
    return tmp, data, env, train, evaluate


def test_quick_start_trains_and_evaluates_every_emotion(quick_start):
    tmp, data, _, train, evaluate = quick_start
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    for emotion in EMOTIONS:
        assert os.path.isfile(tmp / 'check' / (emotion + '.pdparams'))
        assert os.path.isfile(tmp / 'log' / 'train_{}.txt'.format(emotion))
    assert evaluate.returncode == 0, evaluate.stdout[-3000:] + evaluate.stderr[-3000:]
    shown = [line for line in readme_run_lfm_output() if 'not found; using the SYNTHETIC' not in line]
    block = [line for line in shown if not line.startswith('...')]
    for emotion in EMOTIONS:  # "the same block for sad, angry, neutral"
        shown_output([line.replace('happy', emotion) for line in block], evaluate.stdout,
                     [('data/sample_data.pkl', data)])
    starts = [line for line in evaluate.stdout.splitlines() if line.startswith('Start testing')]
    assert starts == ['Start testing {}......'.format(e) for e in EMOTIONS]


def test_quick_start_output_without_a_data_path_is_the_readme_block(quick_start):
    """Without DATA_PATH (and without data/iemocap.pkl) run_lfm.sh prints the README's block to the letter, the
    'not found' line included, apart from the scores."""
    if os.path.exists(os.path.join(REPO, 'data', 'iemocap.pkl')):
        pytest.skip('data/iemocap.pkl is present: the scripts use the real file')
    tmp, _, env, _, _ = quick_start
    evaluate = run_script('bash', 'run_lfm.sh', env={'CHECK_DIR': env['CHECK_DIR']})
    assert evaluate.returncode == 0, evaluate.stdout[-3000:] + evaluate.stderr[-3000:]
    # In a fresh clone the first use also generates the sample ("generated if missing", as the README says).
    generated = 'Wrote SYNTHETIC sample data (not IEMOCAP) to data/sample_data.pkl'
    lines = evaluate.stdout.splitlines()
    if generated in lines:
        assert lines.index(generated) == 1, evaluate.stdout[:500]
        lines.remove(generated)
    shown = readme_run_lfm_output()
    block = [line for line in shown if not line.startswith('...')]
    for emotion in EMOTIONS:
        shown_output([line.replace('happy', emotion) for line in block], '\n'.join(lines))


def doc_block(path, containing):
    """The lines of the first plain fenced block of `path` that contains `containing`."""
    for _, body, _ in fenced_blocks(read(path), ('',)):
        if containing in body:
            return body.splitlines()
    pytest.fail('{} shows no block with {!r}'.format(rel(path), containing))


def test_export_and_infer_print_what_docs_deploy_shows(quick_start):
    """docs/deploy.md's export command and its output, then infer.py's first lines, on the quick start's happy
    checkpoint (the published happy architecture, trained on the small pickle)."""
    tmp, data, _, train, _ = quick_start
    assert train.returncode == 0, train.stderr[-3000:]
    deploy = os.path.join(REPO, 'docs', 'deploy.md')
    block = doc_block(deploy, 'Saved check_inference/happy/inference.onnx')
    command = shlex.split(block[0][2:])
    assert block[0].startswith('$ ') and command[:2] == ['python', 'export_model.py'], block[0]
    checkpoint, inference = str(tmp / 'check' / 'happy.pdparams'), str(tmp / 'inference')
    args = [data if a == './data/sample_data.pkl' else a for a in command[2:]]
    proc = run_script('export_model.py', *args, '--check_path', checkpoint, '--save_inference_dir', inference)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    shown_output(block[1:], proc.stdout, [('./data/sample_data.pkl', data), ('check/happy.pdparams', checkpoint),
                                         ('check_inference/', inference + '/')])

    block = doc_block(deploy, 'Inference device: CPU')
    shown = block[block.index(next(l for l in block if l.startswith('Inference device'))):]
    shown = shown[:next(i for i, l in enumerate(shown) if l.startswith('['))]  # the AutoLog report's times vary
    out = str(tmp / 'out_prob')
    proc = run_script('infer.py', '--emotion', 'happy', '--batch_size', '1', '--benchmark', 'True', '--data_path', data,
                      '--save_inference_dir', inference, '--output_dir', out)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    shown_output(shown, proc.stdout, [('250 test samples of data/sample_data.pkl', '24 test samples of ' + data),
                                      ('[250, 2] to out_prob/', '[24, 2] to {}/'.format(out))])
    assert 'inference_latency(ms): p50' in proc.stdout + proc.stderr


def test_test_py_on_cmu_mosi_prints_what_docs_datasets_shows(tmp_path):
    """docs/datasets.md's `python test.py --dataset mosi` block, line for line apart from the scores, on a model
    trained for 2 epochs on a small CMU-MOSI-layout pickle."""
    data = str(tmp_path / 'mosi.pkl')
    proc = run_script('data/make_sample_data.py', '--dataset', 'mosi', '--out', data, '--train', '48', '--valid', '16',
                      '--test', '24')
    assert proc.returncode == 0, proc.stderr
    proc = run_script('train.py', '--dataset', 'mosi', '--data_path', data, '--epochs', '2',
                      '--model_path', str(tmp_path), '--log_dir', str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    proc = run_script('test.py', '--dataset', 'mosi', '--data_path', data, '--check_path', str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    shown = doc_block(os.path.join(REPO, 'docs', 'datasets.md'), 'Start testing mosi......')
    assert shown[0] == 'data/mosi.pkl not found; using the SYNTHETIC sample data data/mosi_sample.pkl'
    shown_output(shown[1:], proc.stdout, [('data/mosi_sample.pkl', data)])


def test_seeds_print_what_docs_training_shows(quick_start):
    """docs/training.md's `python train.py --emotion happy --seeds 5` block (2 epochs on the small pickle): the
    seeds, one line per seed, the mean +- std lines and the kept seed, apart from the scores."""
    tmp, data, _, _, _ = quick_start
    shown = doc_block(os.path.join(REPO, 'docs', 'training.md'), 'Best seed by validation loss')
    assert shlex.split(shown[0][2:]) == ['python', 'train.py', '--emotion', 'happy', '--seeds', '5'], shown[0]
    check = str(tmp / 'seeds')
    proc = run_script('train.py', '--emotion', 'happy', '--seeds', '5', '--data_path', data, '--epochs', '2',
                      '--model_path', check, '--log_dir', str(tmp / 'seeds_log'))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    best = re.search(r'^Best seed by validation loss: (\d+) ', proc.stdout, re.MULTILINE)
    assert best, proc.stdout[-3000:]
    shown_output(shown[1:], proc.stdout, [('loss: 2967694879 ', 'loss: {} '.format(best.group(1))),
                                          ('check/happy.pdparams', os.path.join(check, 'happy.pdparams'))])


# ---------------------------------------------------------------- results quoted from results/RESULTS.md

def results_rows(text, first_cell):
    """The cells after the label of the row whose label starts with first_cell, in the table headed by the
    line that contains the heading cell; {heading cell: cells}."""
    rows = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith('| ') and lines[i + 1:i + 2] and lines[i + 1].startswith('|---'):
            heading = line.strip('|').split('|')[0].strip()
            for row in lines[i + 2:]:
                if not row.startswith('|'):
                    break
                cells = [c.strip() for c in row.strip('|').split('|')]
                if cells[0].startswith(first_cell):
                    rows[heading] = cells[1:]
    return rows


def mean_std(cell):
    mean, std = re.match(r'^(-?[\d.]+) ± ([\d.]+)', cell).groups()
    return float(mean), float(std)


def test_the_readme_results_are_those_of_results_md():
    """The README quotes results/RESULTS.md (reproduce.py's output); a rerun that changes it must change both."""
    readme = read('README.md')
    results = read('results/RESULTS.md')
    ours = results_rows(results, 'this repository')
    quoted = results_rows(readme, 'LMF, this port')
    pairs = (('IEMOCAP, weighted F1', 'IEMOCAP F1', 100), ('CMU-MOSI', 'CMU-MOSI', 1), ('POM (means over the traits)', 'POM', 1))
    for readme_table, results_table, scale in pairs:
        assert len(quoted[readme_table]) == len(ours[results_table]), readme_table
        for shown, measured in zip(quoted[readme_table], ours[results_table]):
            (m, s), (m2, s2) = mean_std(shown), mean_std(measured)
            digits = len(shown.split(' ')[0].split('.')[1])
            tol = 0.5 * 10 ** -digits * scale + 1e-9  # RESULTS.md rounds to fewer digits for percent columns
            assert abs(m * scale - m2) <= max(tol, 0.05 + 1e-9) and abs(s * scale - s2) <= max(tol, 0.05 + 1e-9), \
                (readme_table, shown, measured)
    ratio = results_rows(results, 'this run, LMF / TFN')['model']
    sentence = re.search(r"LMF has (\S+) of TFN's parameters\s+and\s+trains\s+(\S+)\s+and\s+infers\s+(\S+)\s+as many", readme)
    assert sentence and list(sentence.groups()) == ratio, (sentence and sentence.groups(), ratio)


def test_the_readme_mmsa_rows_are_those_of_results_md():
    """The README's table of MMSA's files quotes results/RESULTS.md's MMSA tables (mean ± std), and MMSA's rows."""
    readme, results = read('README.md'), read('results/RESULTS.md')
    quoted = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip('|').split('|')]
        if line.startswith('| ') and len(cells) == 5 and (', LMF, this port' in cells[0] or "MMSA's published" in cells[0]):
            quoted[cells[0]] = cells[1:]
    columns = {'CMU-MOSI': ('Non0_acc_2', 'Non0_F1_score'), 'CMU-MOSEI': ('Non0_acc_2', 'Non0_F1_score'),
               'CH-SIMS': ('Mult_acc_2', 'F1_score'), 'CH-SIMS v2': ('Mult_acc_2', 'F1_score')}
    assert len(quoted) == 12
    for name, (acc, f1) in columns.items():
        lines = results.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith('| {} (MMSA) |'.format(name)))
        header = [c.strip() for c in lines[start].strip('|').split('|')]
        for row in lines[start + 2:start + 5]:
            cells = [c.strip() for c in row.strip('|').split('|')]
            label = ("{}, MMSA's published LMF" if cells[0].startswith("MMSA's") else
                     '{}, LMF, this port, --recipe mmsa, SYNTHETIC' if cells[0].startswith('--recipe') else
                     '{}, LMF, this port, SYNTHETIC').format(name)
            measured = dict(zip(header[1:], cells[1:]))
            expected = [' '.join(measured[c].split(' ')[:3]) for c in (acc, f1, 'MAE', 'Corr')]
            assert quoted[label] == expected, (label, quoted[label], expected)


def test_the_readme_robustness_scores_are_those_of_results_md():
    """Every score the README's robustness section quotes (a number like 86.5) is a mean in RESULTS.md's robustness
    tables, so a rerun that changes them must change the prose too."""
    readme, results = read('README.md'), read('results/RESULTS.md')
    _, lines = section(readme, '### Robustness: missing and noisy modalities')
    quoted = re.findall(r'(?<![\d.])(\d{2}\.\d)(?![\d.])', '\n'.join(l for l in lines if not l.startswith('![')))
    _, robustness = section(results, '## Robustness: missing and noisy modalities, LMF and TFN')
    means = set(re.findall(r'\| (\d+\.\d) ± ', '\n'.join(robustness)))
    assert len(quoted) >= 6 and set(quoted) <= means, sorted(set(quoted) - means)


def test_the_search_grid_docs_search_shows_is_the_spec():
    """docs/search.md writes the authors' grids out for readers; they must be hparams.search_space's."""
    from lmf import hparams
    import search
    text = read(os.path.join(REPO, 'docs', 'search.md'))
    paragraph = text[text.index('**Space.**'):text.index('`--space file.json`')]
    shown = [[float(v) for v in group.split(',')] for group in re.findall(r'\{([\d.,]+)\}', paragraph)]
    iemocap, regression = hparams.search_space('iemocap'), hparams.search_space('mosi')
    expected = [iemocap[n] for n in ('audio_hidden', 'video_hidden', 'text_hidden', 'audio_dropout', 'learning_rate',
                                     'rank', 'batch_size', 'weight_decay')] + [regression['audio_hidden'],
                                                                               regression['batch_size']]
    assert shown == expected
    assert iemocap['audio_dropout'] == iemocap['video_dropout'] == iemocap['text_dropout']  # "each dropout"
    assert iemocap['factor_learning_rate'] == iemocap['learning_rate']
    sizes = [int(n.replace(',', '')) for n in re.findall(r'\(([\d,]+) settings\)', paragraph)]
    assert sizes == [search.space_size(iemocap), search.space_size(regression)]
    assert regression == hparams.search_space('pom')
