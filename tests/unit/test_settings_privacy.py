import pytest
from pydantic import ValidationError

from pulsewire.streams.privacy import Pseudonymiser
from pulsewire.streams.settings import Settings


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PULSEWIRE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PULSEWIRE_SCORE_BATCH_SIZE", "32")
    monkeypatch.setenv("PULSEWIRE_BROKER_URL", "kafka://10.0.0.1:9092,10.0.0.2:9092")
    s = Settings()
    assert s.score_batch_size == 32
    assert s.bootstrap_servers == "10.0.0.1:9092,10.0.0.2:9092"
    assert s.store_url == f"chdb://{tmp_path.resolve() / 'clickhouse'}"


def test_group_size_can_only_be_raised(monkeypatch):
    monkeypatch.setenv("PULSEWIRE_MIN_GROUP_SIZE", "3")
    with pytest.raises(ValidationError, match="only be raised"):
        Settings()
    monkeypatch.setenv("PULSEWIRE_MIN_GROUP_SIZE", "8")
    assert Settings().min_group_size == 8


def test_missing_pseudonym_key_refuses_to_start(monkeypatch):
    monkeypatch.delenv("PULSEWIRE_PSEUDONYM_KEY", raising=False)
    with pytest.raises(SystemExit, match="PULSEWIRE_PSEUDONYM_KEY"):
        Settings().require_pseudonym_key()


def test_secrets_stay_out_of_repr(monkeypatch):
    monkeypatch.setenv("PULSEWIRE_PSEUDONYM_KEY", "super-secret-key-value-1234")
    s = Settings()
    assert "super-secret" not in repr(s) and "super-secret" not in str(s.model_dump())
    assert "super-secret" not in repr(Pseudonymiser(s.require_pseudonym_key()))


def test_pseudonyms_depend_on_the_key():
    a, b = Pseudonymiser(b"k" * 16), Pseudonymiser(b"j" * 16)
    assert a("e1") != b("e1") and a("e1") != a("e2")


def test_a_topic_prefix_alone_isolates_the_group_and_the_changelog_topics(monkeypatch, tmp_path):
    """Two tenants with only PULSEWIRE_TOPIC_PREFIX set must not share a consumer group or table state."""
    from pulsewire.streams.app import create_app
    from pulsewire.streams.topics import TopicMap

    monkeypatch.setenv("PULSEWIRE_TOPIC_PREFIX", "acme.")
    monkeypatch.delenv("PULSEWIRE_APP_ID", raising=False)
    s = Settings(data_dir=tmp_path)
    assert TopicMap.from_settings(s).group == "acme.pulsewire"
    app, _ = create_app(s, key=b"k" * 32)
    changelogs = {t.changelog_topic.get_topic_name() for t in app.tables.values()}
    assert changelogs and all(name.startswith("acme.pulsewire-") for name in changelogs), changelogs
