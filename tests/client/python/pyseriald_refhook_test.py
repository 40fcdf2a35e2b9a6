"""pyseriald's refhook arguments against R's own refhook: R writes a list holding an environment
its refhook named "myenv" (a persistent reference); load(refhook=) must give what R's
unserialize(refhook =) gives, and dump(refhook=) must write bytes whose persistent reference R's
unserialize hands its hook with exactly the names Python chose.

    python3 -m unittest pyseriald_refhook_test
"""
import os
import shutil
import tempfile
import unittest

import numpy

from pyseriald import Opaque
import seriald_testing

R_WRITE = r'''
e <- new.env()
hook <- function(x) if (identical(x, e)) "myenv" else NULL
writeBin(serialize(list(a = 1, e = e), NULL, refhook = hook), "with_reference.rds")
writeBin(serialize(list(e, e), NULL, refhook = hook), "twice.rds")
saveRDS(list(k = 42), "bound.rds")
saveRDS(list(a = 1, e = new.env()), "with_environment.rds")
saveRDS(list(g = globalenv()), "with_globalenv.rds")
'''

# Every check prints "CHECK name TRUE|FALSE".
R_CHECK = r'''
check <- function(name, ok) cat("CHECK", name, isTRUE(ok), "\n")
bound <- readRDS("bound.rds")
read <- function(f) readBin(f, "raw", file.size(f))
by_r <- unserialize(read("with_reference.rds"), refhook = function(n) bound)
check("resolved", identical(readRDS("resolved.py.rds"), by_r))
check("resolved_stream", identical(readRDS("resolved_stream.py.rds"), by_r))
check("round_trip_bytes", identical(read("round_trip.py.rds"), read("with_reference.rds")))
seen <- list()
got <- unserialize(read("named.py.rds"),
                   refhook = function(n) { seen[[length(seen) + 1]] <<- n; 7 })
check("named_value", identical(got, list(a = 1, e = 7)))
check("named_hook_names", identical(seen, list(c("myenv", "second"))))
'''


class RefhookAgainstR(seriald_testing.ServerTestCase):

    @classmethod
    def setUpClass(cls):
        if shutil.which(seriald_testing.rscript()) is None:
            raise unittest.SkipTest("Rscript is not installed")
        super().setUpClass()
        cls.directory = tempfile.mkdtemp(prefix="pyseriald-refhook-")
        seriald_testing.run_rscript(R_WRITE, cls.directory)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.directory)

    def path(self, name):
        return os.path.join(self.directory, name)

    def r_checks(self):
        output = seriald_testing.run_rscript(R_CHECK, self.directory)
        return {row.split()[1]: row.split()[2] == "TRUE"
                for row in output.splitlines() if row.startswith("CHECK ")}

    def test_load_without_refhook_gives_the_names_and_dumps_the_same_bytes(self):
        loaded = self.client.load(self.path("with_reference.rds"))
        reference = loaded["e"]
        self.assertEqual(reference, Opaque("persistent reference", "myenv", names=["myenv"]))
        output = self.client.dump(loaded, "rds")
        with open(self.path("with_reference.rds"), "rb") as f:
            self.assertEqual(output, f.read())

    def test_load_refhook_gets_the_names_and_dump_refhook_names_environments(self):
        calls = []
        bound = self.client.load(self.path("bound.rds"))

        def resolve(names):
            calls.append(names)
            return bound

        resolved = self.client.load(self.path("with_reference.rds"), refhook=resolve)
        self.assertEqual(calls, [["myenv"]])
        self.assertIs(resolved["e"], bound)
        self.assertEqual(list(resolved["e"]["k"]), [42.0])
        self.client.dump(resolved, "rds", path=self.path("resolved.py.rds"))
        streamed = self.streaming_client.load(self.path("with_reference.rds"), refhook=resolve)
        self.assertEqual(len(calls), 2)
        self.streaming_client.dump(streamed, "rds", path=self.path("resolved_stream.py.rds"))

        # None leaves the reference, which writes back as it was.
        kept = self.client.load(self.path("with_reference.rds"), refhook=lambda names: None)
        self.client.dump(kept, "rds", path=self.path("round_trip.py.rds"))

        # Each persistent reference is a call of its own, as in R.
        twice = []
        self.client.load(self.path("twice.rds"), refhook=lambda names: twice.append(names))
        self.assertEqual(twice, [["myenv"], ["myenv"]])

        environment = self.client.load(self.path("with_environment.rds"))
        self.assertEqual(environment["e"].type, "environment")
        asked = []

        def name(opaque):
            asked.append(opaque)
            return ["myenv", "second"]

        self.client.dump(environment, "rds", path=self.path("named.py.rds"), refhook=name)
        self.assertEqual(asked, [environment["e"]])

        checks = self.r_checks()
        self.assertEqual(checks, {"resolved": True, "resolved_stream": True,
                                  "round_trip_bytes": True, "named_value": True,
                                  "named_hook_names": True})

    def test_dump_refuses_what_the_refhook_leaves_or_names_badly(self):
        environment = self.client.load(self.path("with_environment.rds"))
        with self.assertRaises(ValueError) as raised:
            self.client.dump(environment, "rds", refhook=lambda opaque: None)
        self.assertIn("obj['e']", str(raised.exception))
        with self.assertRaises(TypeError) as raised:
            self.client.dump(environment, "rds", refhook=lambda opaque: [])
        self.assertIn("non-empty list of str", str(raised.exception))
        with self.assertRaises(TypeError):
            self.client.dump(environment, "rds", refhook=lambda opaque: [1])
        # A single str is one name.
        output = self.client.dump(environment, "rds", refhook=lambda opaque: "myenv")
        self.assertEqual(self.client.load(output)["e"].names, ["myenv"])

        # The global environment is never offered to the hook, as R never offers it.
        globalenv = self.client.load(self.path("with_globalenv.rds"))
        self.assertEqual(globalenv["g"], Opaque("environment", "R_GlobalEnv"))
        asked = []
        with self.assertRaises(ValueError):
            self.client.dump(globalenv, "rds", refhook=lambda opaque: asked.append(opaque) or ["g"])
        self.assertEqual(asked, [])

    def test_refhook_may_return_any_python_value(self):
        loaded = self.client.load(self.path("with_reference.rds"), refhook=lambda names: "bound")
        self.assertEqual(loaded["e"], "bound")
        numpy.testing.assert_array_equal(loaded["a"], [1.0])


if __name__ == "__main__":
    unittest.main()
