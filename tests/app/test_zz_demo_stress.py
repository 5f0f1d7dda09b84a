import pytest
from tests.app.test_demos import test_demo_script_plays as play, DEMOS

@pytest.mark.parametrize("i", range(8))
def test_stress(i, demo_template, tmp_path):
    play([p for p in DEMOS if p.stem == "manana_de_un_socio"][0], demo_template, tmp_path)
