"""Tools that sit above hashing, transforms and datasets and combine them.

* :mod:`~hashbench.tools.dedupe`: near-duplicate screening of a benign set (hashes a dataset);
* :mod:`~hashbench.tools.preview`: contact sheets of dataset families and transform suites;
* :mod:`~hashbench.tools.export`: a suite applied to a dataset, written as files.

The layers below (``datasets``, ``transforms``, ``hashing``) never import this package, so
neither datasets nor transforms depends on the other; the CLI calls these tools.
"""
