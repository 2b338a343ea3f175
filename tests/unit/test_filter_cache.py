"""Kept seccomp programs (platform/filter_cache.py): used only for exactly
their input, never a stale or damaged one."""
from __future__ import annotations

import marshal
import os
import sys

import pytest

from runsc_py._interpose import lib
from runsc_py.platform import filter_cache
from runsc_py.platform.policy import build_filter
from runsc_py.syscalls.table import TABLE

RULES = [(0, lib.RP_ACT_ALLOW), (1, lib.RP_ACT_ALLOW), (39, lib.RP_ACT_ERRNO | 1)]
DEFAULT = lib.RP_ACT_NOTIFY


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr(filter_cache, "DIRECTORY", str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    return tmp_path


def kept_files(cache) -> list:
    return sorted(p for p in cache.iterdir() if p.suffix == ".bpf")


def test_a_program_is_kept_and_read_back_unchanged(cache, monkeypatch):
    fresh = filter_cache._compile(RULES, DEFAULT)
    assert filter_cache.compiled(RULES, DEFAULT) == fresh
    assert len(kept_files(cache)) == 1
    monkeypatch.setattr(filter_cache, "_compile", lambda *a: pytest.fail("compiled again"))
    assert filter_cache.compiled(RULES, DEFAULT) == fresh


def test_the_workload_filter_from_the_cache_is_the_one_libseccomp_builds(cache, monkeypatch):
    first = build_filter(TABLE.policies(), lib.RP_ACT_NOTIFY)
    monkeypatch.setattr(filter_cache, "_compile", lambda *a: pytest.fail("compiled again"))
    assert build_filter(TABLE.policies(), lib.RP_ACT_NOTIFY) == first


def test_another_input_is_never_served_a_kept_program(cache):
    filter_cache.compiled(RULES, DEFAULT)
    other = RULES[:-1] + [(39, lib.RP_ACT_ERRNO | 2)]
    assert filter_cache.compiled(other, DEFAULT) == filter_cache._compile(other, DEFAULT)
    assert filter_cache.compiled(RULES, lib.RP_ACT_TRACE) == filter_cache._compile(RULES,
                                                                              lib.RP_ACT_TRACE)
    assert len(kept_files(cache)) == 3


def test_a_file_under_the_right_name_with_another_input_is_ignored(cache):
    """The name is a hash: the file's own record of its input decides."""
    filter_cache.compiled(RULES, DEFAULT)
    (path,) = kept_files(cache)
    other = RULES[:-1]
    key = (filter_cache.FORMAT, lib.rp_libseccomp_version(), DEFAULT, tuple(other))
    path.write_bytes(marshal.dumps((key, filter_cache._compile(other, DEFAULT))))
    assert filter_cache.compiled(RULES, DEFAULT) == filter_cache._compile(RULES, DEFAULT)


@pytest.mark.parametrize("damage", [b"", b"\x00garbage", b"\xe3\x02\x00\x00\x00"])
def test_a_damaged_file_is_ignored_and_replaced(cache, damage):
    filter_cache.compiled(RULES, DEFAULT)
    (path,) = kept_files(cache)
    path.write_bytes(damage)
    assert filter_cache.compiled(RULES, DEFAULT) == filter_cache._compile(RULES, DEFAULT)
    assert path.read_bytes() != damage


def test_nothing_is_written_where_bytecode_is_not(cache, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert filter_cache.compiled(RULES, DEFAULT) == filter_cache._compile(RULES, DEFAULT)
    assert kept_files(cache) == []


def test_an_unwritable_directory_only_costs_the_compile(tmp_path, monkeypatch):
    monkeypatch.setattr(filter_cache, "DIRECTORY", str(tmp_path / "missing"))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert filter_cache.compiled(RULES, DEFAULT) == filter_cache._compile(RULES, DEFAULT)
    assert not os.path.exists(tmp_path / "missing")
