//! ESO-compatible object hashes: SHA3-224 over Go `%+v` renderings.
