"""Deployment: train -> export_model.py -> infer.py on both backends (Paddle Inference, ONNX Runtime), bad input, and
the IEMOCAP TIPC lite chain.

The scripts run in this process (their main(argv) under utils.run_cli, as their command lines run them); one
bad-input case runs the command line itself. The TIPC test takes about 40 s; deselect it with `-m "not tipc"`.
"""
import contextlib
import io
import json
import os
import re
import shutil
import sys

import numpy as np
import pytest

from helpers import ONNX_MISSING, ONNX_REASON, SEED_CHECKPOINTS, assert_clean_error, needs_onnx, skip_without_onnx, iemocap_data, run_script, tipc_lite_chain, write_pickle
from data.common import split_sizes
from lmf import checkpoints, deploy, engine, hparams, metrics
import export_model
import infer
import utils

N_TEST = 40  # test samples: batch size 32 leaves a short last batch
# (dataset, name, task flags, input sizes, outputs K) of the exports the tests share
MODELS = (('iemocap', 'happy', ['--emotion', 'happy'], [74, 35, 300], 2),
          ('mosi', 'mosi', ['--dataset', 'mosi'], [74, 47, 300], 1),
          ('pom', 'pom', ['--dataset', 'pom'], [43, 43, 300], 16))


def cli(main, *argv):
    """main(argv) in this process as utils.run_cli runs it: (exit code, stdout, stderr)."""
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            utils.run_cli(lambda: main([str(a) for a in argv]))
        except SystemExit as stop:
            code = stop.code
    return code, out.getvalue(), err.getvalue()


def ok(main, *argv):
    code, out, err = cli(main, *argv)
    assert code == 0, out + err
    return out


def error(main, *argv):
    """The one 'error: ...' line of a refused command (exit code 2, nothing on stdout after the error)."""
    code, _, err = cli(main, *argv)
    lines = [line for line in err.splitlines() if line.startswith('error: ')]
    assert code == 2 and len(lines) == 1 and 'Traceback' not in err, (code, err)
    return lines[0]


@pytest.fixture(scope='module')
def deployed(tmp_path_factory):
    """happy, CMU-MOSI and POM trained for 2 epochs on small synthetic data and exported with --data_path (happy in
    the seed's command form, every hyperparameter flag given)."""
    import data
    tmp = tmp_path_factory.mktemp('deploy')
    check, inference, paths, exports = str(tmp / 'check'), str(tmp / 'inference'), {}, {}
    for dataset, name, task, _, _ in MODELS:
        reader = data.module(dataset)
        paths[name] = write_pickle(tmp / '{}.pkl'.format(dataset),
                                   reader.make_sample_data(0, split_sizes(reader.SPLIT_SIZES, 48, 16, N_TEST)))
        hp = hparams.published_hparams(dataset, name if dataset == 'iemocap' else None)
        engine.train_and_test(dict(hp, epochs=2), paths[name], check, str(tmp / 'train_log'))
        flags = ['--audio_hidden', 4, '--video_hidden', 16, '--text_hidden', 128, '--audio_dropout', 0.3,
                 '--video_dropout', 0.1, '--text_dropout', 0.5, '--rank', 1] if name == 'happy' else []
        exports[name] = ok(export_model.main, *task, *flags, '--check_path', check, '--save_inference_dir', inference,
                           '--data_path', paths[name])
    return dict(tmp=tmp, data=paths, check=check, inference=inference, exports=exports)


def dynamic_outputs(checkpoint, dataset, name, data):
    """The dynamic-graph model's outputs on the test split: class probabilities for IEMOCAP, else raw scores."""
    import paddle
    model, _, _ = checkpoints.model_from_checkpoint(checkpoint, name, use_softmax=dataset == 'iemocap',
                                                    dataset=dataset)
    _, _, test_set, _ = engine.load_data(dataset, data, name, verbose=False)
    with paddle.no_grad():
        return paddle.concat([model(a, v, t) for a, v, t, _ in engine.iterate_batches(test_set, 1024)]).numpy()


def copied_export(deployed, tmp_path, name='happy'):
    """A copy of an export to edit: (its folder, its info file's path, the info dict)."""
    folder = tmp_path / name
    shutil.copytree(os.path.join(deployed['inference'], name), str(folder))
    with open(str(folder / 'inference_info.json')) as f:
        return folder, str(folder / 'inference_info.json'), json.load(f)


@needs_onnx
def test_export_writes_the_documented_files(deployed):
    import onnx
    for dataset, name, _, dims, k in MODELS:
        folder = os.path.join(deployed['inference'], name)
        program, params, onnx_path, info_path = files = deploy.model_files(folder)
        assert sorted(os.listdir(folder)) == ['inference.json', 'inference.onnx', 'inference.pdiparams',
                                              'inference_info.json']
        with open(info_path) as f:
            info = json.load(f)
        assert (info['dataset'], info['name'], info.get('emotion')) == (
            dataset, name, name if dataset == 'iemocap' else None)
        assert info['output'] == ('probabilities' if dataset == 'iemocap' else 'scores') and info['output_dim'] == k
        assert info['input_dims'] == dims and info['seq_len'] == 20 and info['onnx'] == {'file': 'inference.onnx',
                                                                                          'opset': 17}
        assert info['inputs'] == {'audio': [None, dims[0]], 'video': [None, dims[1]], 'text': [None, 20, dims[2]]}
        out = deployed['exports'][name]
        assert 'Output: [None, {}] {}'.format(k, 'class probabilities (softmax)' if dataset == 'iemocap'
                                              else 'regression scores (no softmax)') in out
        # the self-checks ran on the test samples that the dataset's own reader loaded
        assert 'Self-check on 8 test samples of {}: max |exported - dynamic| = '.format(deployed['data'][name]) in out
        assert 'ONNX self-check (onnxruntime, opset 17) on 8 test samples of {}'.format(deployed['data'][name]) in out
        assert 'NOTE: {} is SYNTHETIC sample data'.format(deployed['data'][name]) in out
        assert [line for line in out.splitlines() if line.startswith('Saved ')] == ['Saved ' + path for path in files]
        # the ONNX batch axis is symbolic, not a number
        graph = onnx.load(onnx_path).graph
        shapes = {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in graph.input}
        assert {n: s[1:] for n, s in shapes.items()} == {'audio': dims[:1], 'video': dims[1:2], 'text': [20, dims[2]]}
        assert all(isinstance(s[0], str) and s[0] for s in shapes.values()), shapes


@pytest.mark.parametrize('use_onnx', [False, pytest.param(True, marks=pytest.mark.skipif(
    bool(ONNX_MISSING), reason=ONNX_REASON))])
def test_inference_equals_the_dynamic_graph(deployed, use_onnx, monkeypatch):
    """Both backends, every kind of export (IEMOCAP probabilities, CMU-MOSI and POM scores), batch sizes 1 and 32
    (a short last batch): the saved outputs are the dynamic graph's within 1e-5 and the printed metrics are theirs.
    Batch size 32 writes to the default out_prob/ or out_pred/ of the working directory, with the timing report."""
    tmp = deployed['tmp']
    for dataset, name, task, _, k in MODELS:
        data = deployed['data'][name]
        expected = dynamic_outputs(os.path.join(deployed['check'], name + '.pdparams'), dataset, name, data)
        targets = engine.load_data(dataset, data, name, verbose=False)[2].targets
        file_name = '{}_{}.npy'.format(name, 'prob' if dataset == 'iemocap' else 'pred')
        for batch_size in (1, 32):
            common = [*task, '--save_inference_dir', deployed['inference'], '--data_path', data, '--use_onnx',
                      use_onnx, '--batch_size', batch_size]
            if batch_size == 1:
                out_dir = str(tmp / 'out_{}_{}'.format(name, use_onnx))
                out = ok(infer.main, *common, '--output_dir', out_dir)
            else:
                monkeypatch.chdir(str(tmp))
                out_dir = 'out_prob' if dataset == 'iemocap' else 'out_pred'
                out = ok(infer.main, *common, '--benchmark', 'True')
            assert os.listdir(out_dir) == [file_name]
            result = np.load(os.path.join(out_dir, file_name))
            os.remove(os.path.join(out_dir, file_name))
            assert result.shape == (N_TEST, k) and result.dtype == np.float32
            np.testing.assert_allclose(result, expected, rtol=0, atol=1e-5)
            if dataset == 'iemocap':
                np.testing.assert_allclose(result.sum(axis=1), 1.0, atol=1e-6)
            assert 'Saved {} [{}, {}] to {}'.format('class probabilities' if dataset == 'iemocap'
                                                    else 'regression scores', N_TEST, k,
                                                    os.path.join(out_dir, file_name)) in out
            lines = []
            metrics.show_results(dataset, metrics.task_metrics(dataset, targets, result), out=lines.append)
            assert '\n'.join(lines + [engine.synthetic_note(dataset)]) in out
            assert ('Inference backend: ONNX Runtime' in out) == use_onnx
            assert ('Inference device: CPU (cpu_threads={}, oneDNN off, ir_optim on)'.format(
                deploy.default_cpu_threads(batch_size)) in out) == (not use_onnx)
            assert ('data_num' in out) == (batch_size == 32)
        # the timing report of the last run (batch size 32)
        for key in ('runtime_device: cpu', 'batch_size: 32', 'data_num: {}'.format(N_TEST), 'cpu_rss(MB): ',
                    'batches: 2 (after 3 warm-up runs)', 'total time spent(s): ', 'preprocess_time(ms): ',
                    'inference_time(ms): ', 'postprocess_time(ms): ', 'paddle_version: ', 'model_name: lmf'):
            assert key in out, key
        conf = ('inference_backend: onnxruntime', 'onnxruntime_version: ', 'execution_provider: CPUExecutionProvider',
                'intra_op_num_threads: {}'.format(utils.default_cpu_threads())) if use_onnx else (
            'inference_backend: paddle_inference', 'ir_optim: True', 'enable_mkldnn: False',
            'cpu_math_library_num_threads: {}'.format(utils.default_cpu_threads()))
        for key in conf:
            assert key in out, key
        assert ('cpu_math_library_num_threads' in out) != use_onnx
        p50, p99 = (float(v) for v in re.search(r'inference_latency\(ms\): p50 ([0-9.]+), p99 ([0-9.]+)', out).groups())
        assert 0 < p50 <= p99


def test_use_gpu_on_a_cpu_build_runs_on_cpu_and_says_so(deployed, tmp_path):
    if utils.gpu_available():
        pytest.skip('this Paddle build has a GPU')
    common = ['--emotion', 'happy', '--save_inference_dir', deployed['inference'], '--data_path',
              deployed['data']['happy'], '--use-gpu', 'True', '--output_dir', tmp_path]
    out = ok(infer.main, *common)
    assert '--use-gpu True: this Paddle build has no usable GPU; running on CPU\nInference device: CPU' in out
    skip_without_onnx()
    out = ok(infer.main, *common, '--use_onnx', 'True')
    assert "--use-gpu True: --use_onnx True runs on ONNX Runtime's CPU provider; running on CPU" in out


def test_dynamic_sequence_length_export(deployed, tmp_path):
    """--seq_len 0 exports a model that takes any text length (self-checked on random inputs)."""
    out = ok(export_model.main, '--emotion', 'happy', '--check_path', deployed['check'], '--save_inference_dir',
             tmp_path, '--seq_len', 0)
    assert 'Input specs: audio [None, 74], video [None, 35], text [None, None, 300]' in out
    assert 'Self-check on 8 random inputs' in out
    data = write_pickle(tmp_path / 'short.pkl', iemocap_data(emotions=('happy',), sizes=(4, 4, 6), seq=12))
    for use_onnx in (False, True):
        if use_onnx:
            skip_without_onnx()
        ok(infer.main, '--emotion', 'happy', '--save_inference_dir', tmp_path, '--data_path', data, '--use_onnx',
           use_onnx, '--output_dir', tmp_path / str(use_onnx))
        assert np.load(str(tmp_path / str(use_onnx) / 'happy_prob.npy')).shape == (6, 2)


def test_published_seed_checkpoint_exports_and_infers(deployed, tmp_path):
    """The earlier port's check/happy.pkl (trained on IEMOCAP) goes through export and inference."""
    checkpoint = os.path.join(SEED_CHECKPOINTS, 'happy.pkl')
    if not os.path.isfile(checkpoint):
        pytest.skip('published checkpoints not available')
    data = deployed['data']['happy']
    ok(export_model.main, '--emotion', 'happy', '--check_path', checkpoint, '--save_inference_dir', tmp_path,
       '--data_path', data)
    ok(infer.main, '--emotion', 'happy', '--save_inference_dir', tmp_path, '--data_path', data, '--batch_size', 1,
       '--output_dir', tmp_path / 'out')
    np.testing.assert_allclose(np.load(str(tmp_path / 'out' / 'happy_prob.npy')),
                               dynamic_outputs(checkpoint, 'iemocap', 'happy', data), rtol=0, atol=1e-5)


def test_info_file_without_dataset_is_iemocap(deployed, tmp_path):
    """inference_info.json as export_model.py wrote it before CMU-MOSI and POM (no 'dataset', no 'name') nor TFN."""
    folder, info_path, info = copied_export(deployed, tmp_path)
    for key in ('dataset', 'name', 'layout', 'model', 'modalities'):
        info.pop(key)
    with open(info_path, 'w') as f:
        json.dump(info, f)
    assert 'exported for --dataset iemocap (happy)' in error(infer.main, '--dataset', 'mosi',
                                                             '--save_inference_dir', folder)
    data = deployed['data']['happy']
    ok(infer.main, '--emotion', 'happy', '--save_inference_dir', tmp_path, '--data_path', data, '--output_dir',
       tmp_path / 'out')
    np.testing.assert_allclose(np.load(str(tmp_path / 'out' / 'happy_prob.npy')), dynamic_outputs(
        os.path.join(deployed['check'], 'happy.pdparams'), 'iemocap', 'happy', data), rtol=0, atol=1e-5)


# ---------------------------------------------------------------- bad input

def test_bad_input_on_the_command_line(deployed, tmp_path):
    """The command line itself: one error line, exit code 2, no traceback."""
    proc = run_script('infer.py', '--emotion', 'happy', '--save_inference_dir', str(tmp_path),
                      '--data_path', deployed['data']['happy'])
    assert proc.returncode == 2
    assert_clean_error(proc, 'no exported happy model', 'python export_model.py --emotion happy')


def test_infer_bad_flags(deployed):
    common = ['--emotion', 'happy', '--save_inference_dir', deployed['inference'], '--data_path',
              deployed['data']['happy']]
    for flags, message in ((['--batch_size', 0], '--batch_size must be >= 1, got 0'),
                           (['--cpu_threads', 0], '--cpu_threads must be >= 1, got 0'),
                           (['--warmup', -1], '--warmup must be >= 0, got -1'),
                           (['--dataset', 'mosi'], '--emotion')):
        assert message in error(infer.main, *common, *flags)
    with pytest.raises(SystemExit) as stop, contextlib.redirect_stderr(io.StringIO()) as err:
        infer.main(common + ['--use_onnx', 'maybe'])
    assert stop.value.code == 2 and "expected True or False, got 'maybe'" in err.getvalue()


@needs_onnx
def test_infer_with_missing_or_damaged_files(deployed, tmp_path):
    data, happy = deployed['data']['happy'], ['--emotion', 'happy', '--data_path', deployed['data']['happy']]
    folder, info_path, info = copied_export(deployed, tmp_path)
    os.remove(str(folder / 'inference.pdiparams'))
    assert 'inference.pdiparams missing' in error(infer.main, *happy, '--save_inference_dir', tmp_path)
    # a model folder without inference.onnx (exported before ONNX, or the file removed): Paddle still runs it
    folder, info_path, info = copied_export(deployed, tmp_path / 'old')
    os.remove(str(folder / 'inference.onnx'))
    line = error(infer.main, *happy, '--save_inference_dir', tmp_path / 'old', '--use_onnx', 'True')
    assert 'inference.onnx does not exist' in line and 'python export_model.py --emotion happy' in line
    ok(infer.main, *happy, '--save_inference_dir', tmp_path / 'old', '--output_dir', tmp_path / 'out')
    # an inference.onnx with other input sizes (audio 70) beside an info file that says 74
    hp = dict(hparams.emotion_hparams('happy'), emotion='happy')
    checkpoints.save_checkpoint(str(tmp_path / 'happy.pdparams'), checkpoints.build_model(hp, (70, 35, 300)), hp,
                                (70, 35, 300))
    ok(export_model.main, '--emotion', 'happy', '--check_path', tmp_path, '--save_inference_dir', tmp_path / 'a70')
    shutil.copy(str(tmp_path / 'a70' / 'happy' / 'inference.onnx'), str(folder / 'inference.onnx'))
    line = error(infer.main, *happy, '--save_inference_dir', tmp_path / 'old', '--use_onnx', 'True')
    assert 'inference.onnx takes inputs' in line and "'audio': [None, 70]" in line and 're-export' in line
    # damaged files: the ONNX model, the weights, the info file
    (folder / 'inference.onnx').write_bytes(b'not an onnx model')
    assert 'not a readable ONNX model' in error(infer.main, *happy, '--save_inference_dir', tmp_path / 'old',
                                                '--use_onnx', 'True')
    (folder / 'inference.pdiparams').write_bytes(b'not weights')
    assert 'cannot load the exported model in' in error(infer.main, *happy, '--save_inference_dir', tmp_path / 'old')
    with open(info_path, 'w') as f:
        json.dump(dict(info, format='x'), f)
    assert "is not an export_model.py info file (format 'x')" in error(
        infer.main, *happy, '--save_inference_dir', tmp_path / 'old')
    # an info file that contradicts the program
    folder, info_path, info = copied_export(deployed, tmp_path / 'contradicts')
    info['input_dims'][0] = 70
    with open(info_path, 'w') as f:
        json.dump(info, f)
    assert 're-export' in error(infer.main, '--emotion', 'happy', '--save_inference_dir', tmp_path / 'contradicts',
                                '--data_path', data)


def test_infer_on_data_that_does_not_fit(deployed, tmp_path):
    happy = ['--emotion', 'happy', '--save_inference_dir', deployed['inference']]
    data = write_pickle(tmp_path / 'audio70.pkl', iemocap_data(emotions=('happy',), sizes=(4, 4, 4), audio=70))
    assert 'audio 70 (model expects 74)' in error(infer.main, *happy, '--data_path', data)
    data = write_pickle(tmp_path / 'seq12.pkl', iemocap_data(emotions=('happy',), sizes=(4, 4, 4), seq=12))
    line = error(infer.main, *happy, '--data_path', data)
    assert 'length 12' in line and 'exported for 20' in line
    # the data's label count must be the export's output_dim: a POM copy with 17 label columns
    import data as readers
    pom = readers.module('pom').make_sample_data(1, (('train', 4), ('valid', 4), ('test', 6)))
    for split in (b'train', b'valid', b'test'):
        pom[split][b'label'] = np.concatenate([pom[split][b'label'], pom[split][b'label'][:, :1]], axis=1)
    line = error(infer.main, '--dataset', 'pom', '--save_inference_dir', deployed['inference'], '--data_path',
                 write_pickle(tmp_path / 'pom17.pkl', pom), '--output_dir', tmp_path / 'o')
    assert 'labels have 17 columns' in line and 'outputs 16' in line
    assert not os.path.exists(str(tmp_path / 'o'))


def test_model_exported_for_another_input_size(deployed, tmp_path):
    hp = dict(hparams.emotion_hparams('angry'), emotion='angry')
    checkpoints.save_checkpoint(str(tmp_path / 'angry.pdparams'), checkpoints.build_model(hp, (70, 35, 300)), hp,
                                (70, 35, 300))
    export = ['--emotion', 'angry', '--check_path', tmp_path, '--save_inference_dir', tmp_path / 'inference']
    assert 'audio [None, 70]' in ok(export_model.main, *export)
    data = deployed['data']['happy']
    assert 'audio 74 (model expects 70)' in error(infer.main, '--emotion', 'angry', '--save_inference_dir',
                                                  tmp_path / 'inference', '--data_path', data)
    # export with --data_path checks the data against the model as well
    assert 'audio 74 (model expects 70)' in error(export_model.main, *export, '--data_path', data)


def test_infer_with_a_model_of_another_task(deployed):
    inference, data = deployed['inference'], deployed['data']
    happy, mosi = os.path.join(inference, 'happy'), os.path.join(inference, 'mosi')
    assert 'exported for happy' in error(infer.main, '--emotion', 'sad', '--save_inference_dir', happy,
                                         '--data_path', data['happy'])
    for dataset in ('pom', 'iemocap'):  # a CMU-MOSI export run as another dataset
        line = error(infer.main, '--dataset', dataset, '--save_inference_dir', mosi, '--data_path',
                     data['pom' if dataset == 'pom' else 'happy'])
        assert '--dataset {}'.format(dataset) in line and 'exported for --dataset mosi' in line
    line = error(infer.main, '--dataset', 'mosi', '--save_inference_dir', happy, '--data_path', data['mosi'])
    assert '--dataset mosi' in line and 'exported for --dataset iemocap (happy)' in line


def test_export_bad_input(deployed, tmp_path, monkeypatch):
    check = deployed['check']
    common = ['--check_path', check, '--save_inference_dir', tmp_path]
    for argv, fragments in (
            (['--emotion', 'happy', '--data_path', tmp_path / 'none.pkl'], ('--data_path', 'does not exist')),
            (['--emotion', 'happy', '--rank', 7], ('--rank 7',)),
            (['--emotion', 'happy', '--seq_len', -1], ('--seq_len must be >= 1, or 0 for any length; got -1',)),
            (['--emotion', 'happy', '--seq_len', 12, '--data_path', deployed['data']['happy']],
             ('text sequences have length 20 but --seq_len is 12',)),
            (['--emotion', 'happy', '--model', 'tfn'], ('--model tfn contradicts',)),
            # an IEMOCAP checkpoint exported as CMU-MOSI, a CMU-MOSI checkpoint as POM
            (['--dataset', 'mosi', '--check_path', os.path.join(check, 'happy.pdparams')],
             ('--dataset mosi', 'trained on iemocap')),
            (['--dataset', 'pom', '--check_path', os.path.join(check, 'mosi.pdparams')],
             ('--dataset pom', 'trained on mosi'))):
        line = error(export_model.main, *common, *argv)
        assert all(fragment in line for fragment in fragments), (fragments, line)
    assert 'no happy.pdparams' in error(export_model.main, '--emotion', 'happy', '--check_path', tmp_path)


def test_without_the_onnx_packages(deployed, tmp_path, monkeypatch):
    """Python 3.13 has no paddle2onnx: export writes the Paddle Inference model, removes an older (now stale)
    inference.onnx and says so in one line; infer.py --use_onnx True names what is missing and its install command."""
    monkeypatch.setitem(sys.modules, 'paddle2onnx', None)
    folder = tmp_path / 'happy'
    shutil.copytree(os.path.join(deployed['inference'], 'happy'), str(folder))
    out = ok(export_model.main, '--emotion', 'happy', '--check_path', deployed['check'], '--save_inference_dir',
             tmp_path)
    assert [line for line in out.splitlines() if 'ONNX' in line] == [
        'ONNX file skipped: paddle2onnx is not installed; the Paddle Inference model is complete. For inference.onnx: '
        'pip install -r requirements-onnx.txt; paddle2onnx has wheels for Python 3.12 and older only']
    assert sorted(os.listdir(str(folder))) == ['inference.json', 'inference.pdiparams', 'inference_info.json']
    with open(str(folder / 'inference_info.json')) as f:
        assert json.load(f)['onnx'] is None
    happy = ['--emotion', 'happy', '--save_inference_dir', tmp_path, '--data_path', deployed['data']['happy']]
    assert 'F1-score on test set is' in ok(infer.main, *happy, '--output_dir', tmp_path / 'out')
    line = error(infer.main, *happy, '--use_onnx', 'True')
    assert 'inference.onnx does not exist' in line and 'requirements-onnx.txt' in line
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)
    line = error(infer.main, *happy, '--use_onnx', 'True')
    assert 'needs onnxruntime, which is not installed' in line and 'requirements-onnx.txt' in line


# ---------------------------------------------------------------- TIPC

@pytest.mark.tipc
def test_tipc_lite_train_lite_infer(tmp_path):
    """The seed's TIPC command, in a copy of the repository, passes every stage for the four emotions."""
    _, _, outputs = tipc_lite_chain(tmp_path, 'test_tipc/configs/lmf/train_infer_python.txt', 'lite_data.pkl',
                                    hparams.EMOTIONS)
    for probabilities in outputs.values():
        assert probabilities.shape == (64, 2)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)
