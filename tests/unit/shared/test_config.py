import pytest

from shared.config import ConfigError, InfraSettings, load_settings


def test_defaults_point_at_loopback(monkeypatch):
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("MONGODB_URI", raising=False)
    settings = load_settings(InfraSettings)
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert settings.mongodb_uri.startswith("mongodb://127.0.0.1")


def test_environment_wins(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-0:9092,kafka-1:9092")
    monkeypatch.setenv("KAFKA_TOPIC_PREFIX", "staging.")
    settings = load_settings(InfraSettings)
    assert settings.kafka_bootstrap_servers == "kafka-0:9092,kafka-1:9092"
    assert settings.topic("inbox.commands.v1") == "staging.inbox.commands.v1"


@pytest.mark.parametrize(
    ("var", "value", "said"),
    [
        ("MONGODB_URI", "localhost:27017", "must start with mongodb://"),
        ("KAFKA_BOOTSTRAP_SERVERS", "localhost", "is not host:port"),
        ("KAFKA_TOPIC_PARTITIONS", "0", "greater than or equal to 1"),
    ],
)
def test_bad_values_fail_with_one_line_naming_the_variable(monkeypatch, var, value, said):
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(InfraSettings)
    message = str(caught.value)
    assert said in message
    assert "\n" not in message
