def test_import():
    import becomingone_cpp
    assert becomingone_cpp.simd_path()
