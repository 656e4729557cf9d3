"""RunLock: one writer at a time, the holder's PID in the refusal, free again when the holder dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from nas.errors import RunDirectoryError
from nas.lock import LOCK_NAME, RunLock


def test_a_second_writer_is_refused_naming_the_directory_and_the_holder(tmp_path):
    with RunLock(tmp_path / LOCK_NAME):
        with pytest.raises(RunDirectoryError, match=f"{tmp_path} is in use by another nas process "
                                                    f"\\(PID {os.getpid()}\\)"):
            RunLock(tmp_path / LOCK_NAME).acquire()
    assert not (tmp_path / LOCK_NAME).exists()  # released: the directory keeps only the run's files
    with RunLock(tmp_path / LOCK_NAME):  # and free again
        pass


def test_a_sigkilled_holder_leaves_the_lock_free(tmp_path):
    code = ("import os, signal, sys; from nas.lock import RunLock; "
            "RunLock(sys.argv[1]).acquire(); os.kill(os.getpid(), signal.SIGKILL)")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / LOCK_NAME)])
    assert proc.returncode == -signal.SIGKILL
    assert (tmp_path / LOCK_NAME).exists()  # the file stays, the kernel dropped the lock with the process
    with RunLock(tmp_path / LOCK_NAME):
        assert (tmp_path / LOCK_NAME).read_text().strip() == str(os.getpid())
