"""A throwaway PostgreSQL cluster for the search tests: Debian's server binaries, loopback only.

The server refuses to run as root, so as root its commands run as the `postgres` user in a
temporary folder owned by it. Password (scram-sha-256) authentication on TCP 127.0.0.1.
"""
import glob
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile

import pytest

USER, PASSWORD = 'lmf', 'pg-test-secret'


def server_bin():
    """The newest /usr/lib/postgresql/<version>/bin that holds initdb and pg_ctl, or None."""
    found = [d for d in glob.glob('/usr/lib/postgresql/*/bin')
             if os.path.isfile(os.path.join(d, 'initdb')) and os.path.isfile(os.path.join(d, 'pg_ctl'))]
    return max(found, key=lambda d: int(d.split('/')[-2]) if d.split('/')[-2].isdigit() else 0) if found else None


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, bindir):
        self.bindir = bindir
        self.root = tempfile.mkdtemp(prefix='lmf_pg_')
        self.data = os.path.join(self.root, 'data')
        self.log = os.path.join(self.root, 'log')
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            import pwd
            entry = pwd.getpwnam('postgres')
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        os.chmod(self.root, 0o700)
        pwfile = os.path.join(self.root, 'pw')
        with open(pwfile, 'w') as f:
            f.write(PASSWORD + '\n')
        if self.as_postgres:
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        self.run('initdb', '-D', self.data, '-U', USER, '--pwfile', pwfile, '--auth-local=trust',
                 '--auth-host=scram-sha-256', '-E', 'UTF8', '--no-sync')
        self.start()

    def run(self, tool, *args, timeout=60):
        cmd = [os.path.join(self.bindir, tool)] + list(args)
        if self.as_postgres:
            cmd = ['runuser', '-u', 'postgres', '--'] + cmd
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if proc.returncode != 0:
            log = open(self.log).read() if os.path.isfile(self.log) else ''
            raise RuntimeError('{} failed: {}{}{}'.format(tool, proc.stdout, proc.stderr, log[-2000:]))
        return proc

    def pg_ctl(self, action):
        options = "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60".format(
            self.port, self.root)
        self.run('pg_ctl', action, '-w', '-t', '30', '-D', self.data, '-l', self.log, '-o', options, '-m', 'fast')

    def start(self):
        self.pg_ctl('start')

    def restart(self):
        self.pg_ctl('restart')

    def stop(self):
        self.run('pg_ctl', 'stop', '-w', '-t', '30', '-D', self.data, '-m', 'immediate')

    def url(self, database, password=PASSWORD, port=None):
        return 'postgresql://{}:{}@127.0.0.1:{}/{}'.format(USER, password, port or self.port, database)

    def create_database(self, name):
        import psycopg
        with psycopg.connect(self.url('postgres'), autocommit=True) as conn:
            conn.execute('CREATE DATABASE "{}"'.format(name))
        return self.url(name)


@pytest.fixture(scope='session')
def pg_cluster():
    bindir = server_bin()
    if bindir is None:
        pytest.skip('no PostgreSQL server binaries (/usr/lib/postgresql/<version>/bin/initdb)')
    if importlib.util.find_spec('psycopg') is None:
        pytest.skip('psycopg is not installed (pip install -r requirements-search.txt)')
    cluster = Cluster(bindir)
    try:
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_cluster, request):
    """An empty database of its own for each test, as a postgresql:// URL (SQLAlchemy 2.1 uses psycopg 3)."""
    name = 'lmf_' + ''.join(c if c.isalnum() else '_' for c in request.node.name.lower())[:50]
    return pg_cluster.create_database(name)
