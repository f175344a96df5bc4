//! Compiles `csrc/allocator.c`, which sets mimalloc's options before `main` (see that file),
//! against the header of the mimalloc that is linked.

fn main() {
    println!("cargo:rerun-if-changed=csrc/allocator.c");
    let mut build = cc::Build::new();
    if let Some(include) = std::env::var_os("DEP_MIMALLOC_INCLUDE_DIR") {
        build.include(include);
    }
    build.file("csrc/allocator.c").compile("ardoise_allocator");
    // Nothing in Rust calls the constructor: keep its object in the link anyway.
    println!("cargo:rustc-link-arg=-Wl,--undefined=ardoise_allocator_options");
}
