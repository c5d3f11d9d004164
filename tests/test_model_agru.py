"""AGRU and GRU share code: attention weights sum to 1 over time; the GRU baseline uses the last state."""

import pytest
import torch

from etfrot.errors import ConfigError
from etfrot.model.agru import AGRU, GRU, build_model


def test_attention_weights_sum_to_one_over_time_steps():
    torch.manual_seed(0)
    net = AGRU(hidden_size=8, num_layers=2)
    x = torch.randn(5, 13, 6)
    a = net.attention_weights(x)
    assert a.shape == (5, 13)
    assert torch.allclose(a.sum(dim=1), torch.ones(5), atol=1e-6)
    assert (a > 0).all()
    assert net(x).shape == (5,)


def test_agru_output_is_head_of_attention_weighted_sum_of_all_steps():
    torch.manual_seed(1)
    net = AGRU(hidden_size=4, num_layers=1).eval()
    x = torch.randn(3, 7, 6)
    out, _ = net.rnn(x)
    a = net.attention_weights(x)
    z = (a.unsqueeze(-1) * out).sum(dim=1)
    assert torch.allclose(net(x), net.head(z).squeeze(-1), atol=1e-6)


def test_gru_baseline_uses_last_hidden_state_and_has_no_attention():
    torch.manual_seed(2)
    net = GRU(hidden_size=4, num_layers=2).eval()
    x = torch.randn(3, 7, 6)
    out, _ = net.rnn(x)
    assert torch.allclose(net(x), net.head(out[:, -1]).squeeze(-1), atol=1e-6)
    with pytest.raises(ConfigError, match="no attention"):
        net.attention_weights(x)
    # same encoder code: identical GRU parameter shapes
    agru = AGRU(hidden_size=4, num_layers=2)
    assert [p.shape for p in agru.rnn.parameters()] == [p.shape for p in net.rnn.parameters()]


def test_build_model_validates():
    assert build_model("agru").attention and not build_model("gru").attention
    with pytest.raises(ConfigError, match="unknown model"):
        build_model("lstm")
    with pytest.raises(ConfigError, match="hidden_size"):
        AGRU(hidden_size=0)
