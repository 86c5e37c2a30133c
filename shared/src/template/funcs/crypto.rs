use super::FuncDef;

pub(crate) static FUNCS: &[FuncDef] = &[];
