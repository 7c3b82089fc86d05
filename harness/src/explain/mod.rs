//! `mmcheck explain`: a symbol of the mmap family in the project's own words, the installed man
//! page's text for it, the kernel version that brought it, and the cases that prove each claim
//! with what each environment observed.

pub mod man;
