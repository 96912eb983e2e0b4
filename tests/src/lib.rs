//! Integration tests of the utun workspace live in `tests/tests/`; this
//! library is empty.
