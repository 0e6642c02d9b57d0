"""The data layer: the sourced package files (CSV + ``datapackage.json``), their loader and checks.

Every table is read through :func:`rare_earth_lib.data.package.load`; models never open files.
"""
