"""The benchmark (`make bench`): the pipeline against two references at three scales."""
