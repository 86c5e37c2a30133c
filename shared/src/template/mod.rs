//! Go `text/template` + sprig compatible template engine (ESO template engine v2).
