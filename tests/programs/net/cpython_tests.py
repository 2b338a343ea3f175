"""Run CPython's own test modules and print one "STATUS test-id" line per test.

    python3 cpython_tests.py test.test_socket [more modules...]

VSOCK tests are left out: on a VM with a vsock device and no peer they hang
natively too. The last line is a summary.
"""
import sys
import unittest


class Lines(unittest.TextTestResult):
    def _line(self, status, test):
        self.stream.write(f"{status} {test.id()}\n")
        self.stream.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line("PASS", test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line("FAIL", test)

    def addError(self, test, err):
        super().addError(test, err)
        self._line("ERROR", test)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line("SKIP", test)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._line("XFAIL", test)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._line("XPASS", test)


def tests_of(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from tests_of(item)
        else:
            yield item


def main() -> int:
    loader = unittest.TestLoader()
    chosen = [t for t in tests_of(loader.loadTestsFromNames(sys.argv[1:])) if "VSOCK" not in t.id()]
    runner = unittest.TextTestRunner(stream=sys.stdout, resultclass=Lines, verbosity=0)
    result = runner.run(unittest.TestSuite(chosen))
    print(f"SUMMARY run={result.testsRun} failures={len(result.failures)} errors={len(result.errors)} "
          f"skipped={len(result.skipped)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
