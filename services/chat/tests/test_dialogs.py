from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

Headers = Callable[..., dict[str, str]]


class TestDialogs:
    async def test_list_is_most_recent_first_with_cursor(
        self, chat_client: httpx.AsyncClient, user: Headers
    ) -> None:
        headers = user()
        ids = []
        for i in range(5):
            response = await chat_client.post(
                "/api/dialogs", json={"name": f"d{i}"}, headers=headers
            )
            ids.append(response.json()["id"])
        seen: list[str] = []
        cursor = None
        for _ in range(5):
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await chat_client.get("/api/dialogs", params=params, headers=headers)).json()
            seen += [d["id"] for d in page["data"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == list(reversed(ids))

    async def test_rename_search_and_delete(
        self, chat_client: httpx.AsyncClient, user: Headers
    ) -> None:
        headers = user()
        dialog = (
            await chat_client.post("/api/dialogs", json={"message_text": "hello"}, headers=headers)
        ).json()
        renamed = await chat_client.patch(
            f"/api/dialogs/{dialog['id']}", json={"name": "Sorting"}, headers=headers
        )
        assert renamed.json()["name"] == "Sorting"
        found = (
            await chat_client.get("/api/dialogs", params={"q": "sort"}, headers=headers)
        ).json()
        assert [d["id"] for d in found["data"]] == [dialog["id"]]
        assert (
            await chat_client.delete(f"/api/dialogs/{dialog['id']}", headers=headers)
        ).status_code == 204
        assert (
            await chat_client.get(f"/api/dialogs/{dialog['id']}", headers=headers)
        ).status_code == 404
        gone = await chat_client.get(f"/api/messages/{dialog['message']['id']}", headers=headers)
        assert gone.status_code == 404

    async def test_unknown_model_and_bad_cursor_are_field_errors(
        self, chat_client: httpx.AsyncClient, user: Headers
    ) -> None:
        headers = user()
        bad_model = await chat_client.post("/api/dialogs", json={"model": "nope"}, headers=headers)
        assert bad_model.status_code == 422
        assert "model" in bad_model.json()["errors"]
        bad_cursor = await chat_client.get("/api/dialogs", params={"cursor": "!!"}, headers=headers)
        assert bad_cursor.status_code == 422
        assert "cursor" in bad_cursor.json()["errors"]

    async def test_models_list_labels_the_demo(
        self, chat_client: httpx.AsyncClient, user: Headers
    ) -> None:
        models = (await chat_client.get("/api/models", headers=user())).json()["data"]
        assert models[0] == {
            "id": "parley-demo",
            "name": "Demo (built-in, offline)",
            "provider": "openai",
            "context_tokens": 8192,
            "default": True,
        }
        assert models[1]["id"] == "other-model"


class TestWebhookRegistration:
    async def test_private_and_loopback_urls_are_refused(
        self, chat_client: httpx.AsyncClient, user: Headers
    ) -> None:
        headers = user()
        for url in (
            "http://127.0.0.1:9999/hook",
            "http://localhost/hook",
            "http://10.1.2.3/x",
            "http://169.254.169.254/latest",
            "http://[::1]/x",
            "ftp://example.com/x",
            "http://user:pw@example.com/x",
        ):
            response = await chat_client.post("/api/webhooks", json={"url": url}, headers=headers)
            assert response.status_code == 422, url
            assert "url" in response.json()["errors"]
        assert (await chat_client.get("/api/webhooks", headers=headers)).json()["data"] == []

    def test_connect_time_check_refuses_private_addresses(self) -> None:
        from chat_service.webhooks import sender

        result = sender.post(
            "http://127.0.0.1:9999/hook",
            ["whsec_" + "A" * 32],
            "msg_1",
            b"{}",
            timeout=1,
            allow_private=False,
        )
        assert result.status_code is None
        assert result.error is not None
        assert "private" in result.error


class TestModelCatalog:
    async def test_models_come_from_the_provider_when_not_configured(self) -> None:
        from chat_service.catalog.service import ModelCatalog
        from chat_service.config import Settings
        from parley_testing.model_server import Behaviour, ModelServer
        from parley_testing.servers import serve_asgi

        server = ModelServer(Behaviour(models=["alpha", "beta"]))
        with serve_asgi(server.app) as url:
            settings = Settings(
                OPENAI_BASE_URL=f"{url}/v1", PARLEY_MODELS="", PARLEY_DEFAULT_MODEL="beta"
            )
            async with httpx.AsyncClient() as http:
                catalog = ModelCatalog(settings, settings.providers(), http)
                assert [m.id for m in await catalog.models()] == ["alpha", "beta"]
                default = await catalog.default()
                assert default is not None
                assert default.id == "beta"
                alpha = await catalog.check("alpha")
                assert alpha is not None
                assert alpha.provider_model == "alpha"
                server.behaviour.models = ["gamma"]
                assert [m.id for m in await catalog.models()] == ["alpha", "beta"]  # cached

    async def test_several_providers_each_list_their_models_and_one_down_hides_only_its_own(
        self, tmp_path: Path
    ) -> None:
        from chat_service.catalog.service import ModelCatalog
        from chat_service.config import Settings
        from parley_testing.model_server import Behaviour, ModelServer
        from parley_testing.ports import free_port
        from parley_testing.servers import serve_asgi

        local = ModelServer(Behaviour(models=["llama-3.1-8b", "qwen"]))
        with serve_asgi(local.app) as local_url:
            providers = tmp_path / "providers.toml"
            providers.write_text(
                f"""
[[providers]]
name = "openai"
base_url = "http://127.0.0.1:{free_port()}/v1"  # nobody listens: this provider is down
api_key_env = "OPENAI_API_KEY"

[[providers]]
name = "local"
base_url = "{local_url}/v1"
queue = "llm.local"
[[providers.models]]
id = "llama-3.1-8b"
name = "Llama 3.1 8B"
context_tokens = 131072
default = true
"""
            )
            settings = Settings(PARLEY_PROVIDERS_FILE=str(providers))
            async with httpx.AsyncClient() as http:
                catalog = ModelCatalog(settings, settings.providers(), http)
                models = await catalog.models()
                routed = await catalog.route("local/llama-3.1-8b")
                gone = await catalog.route("openai/gpt-4o")  # not offered now: still its provider's
        # the listed model only (not the provider's /v1/models), qualified by its provider
        assert [
            (m.id, m.name, m.provider, m.queue, m.context_tokens, m.default) for m in models
        ] == [("local/llama-3.1-8b", "Llama 3.1 8B", "local", "llm.local", 131072, True)]
        assert (routed.provider, routed.provider_model, routed.queue) == (
            "local",
            "llama-3.1-8b",
            "llm.local",
        )
        assert (gone.provider, gone.provider_model, gone.queue) == ("openai", "gpt-4o", "llm")


class TestNulCharacters:
    """PostgreSQL's text cannot hold NUL: both backends refuse it the same way, with a 422."""

    async def test_refused_in_every_text_field(
        self, chat_client: httpx.AsyncClient, user: Headers
    ) -> None:
        headers = user()
        dialog = (await chat_client.post("/api/dialogs", json={}, headers=headers)).json()
        cases = [
            ("post", "/api/dialogs", {"name": "a\x00b"}, "name"),
            ("post", "/api/dialogs", {"message_text": "hi\x00"}, "message_text"),
            ("patch", f"/api/dialogs/{dialog['id']}", {"name": "\x00"}, "name"),
            (
                "post",
                f"/api/dialogs/{dialog['id']}/messages",
                {"message_text": "a\x00"},
                "message_text",
            ),
            (
                "post",
                f"/api/dialogs/{dialog['id']}/messages",
                {"message_text": "a", "model": "m\x00"},
                "model",
            ),
        ]
        for method, path, body, field in cases:
            response = await chat_client.request(method, path, json=body, headers=headers)
            assert response.status_code == 422, (path, body, response.text)
            assert response.json()["errors"][field] == ["NUL characters are not allowed."]
        for params, field in (({"q": "a\x00"}, "q"), ({"cursor": "\x00"}, "cursor")):
            listed = await chat_client.get("/api/dialogs", params=params, headers=headers)
            assert listed.status_code == 422, listed.text
            assert field in listed.json()["errors"]
        page = await chat_client.get(
            f"/api/dialogs/{dialog['id']}/messages", params={"before": "\x00"}, headers=headers
        )
        assert page.status_code == 422
        # nothing half-written: the dialog has no message and its name is unchanged
        stored = (await chat_client.get(f"/api/dialogs/{dialog['id']}", headers=headers)).json()
        assert stored["name"] == dialog["name"]
        messages = await chat_client.get(f"/api/dialogs/{dialog['id']}/messages", headers=headers)
        assert messages.json()["data"] == []
        all_dialogs = (await chat_client.get("/api/dialogs", headers=headers)).json()["data"]
        assert [d["id"] for d in all_dialogs] == [dialog["id"]]
