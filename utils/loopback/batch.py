"""A Batch API on loopback that really runs each line on an OpenAI-compatible server.

The local llama.cpp server has no Batch API, so ``LocalBatchAPI`` adds OpenAI's (the one
Model Studio copies) in front of it: ``client.files.create(purpose="batch")`` uploads the
JSONL, ``client.batches.create`` starts the batch, ``client.batches.retrieve`` reports its
status and counts, ``client.files.content`` downloads the output and error files. Each line's
``body`` is sent to the upstream server's ``/chat/completions`` (a few at a time, in a
background thread), so every answer in the output file is the model's own. Output lines are
written in the order the requests finish, as a real Batch API may: match them by ``custom_id``.

What it leaves out: the 24-hour window (it starts at once), the price, and the provider's
queue. Everything lives in memory and goes when the server is closed.

    with LocalBatchAPI(settings.base_url) as batch_api:
        batch_client = get_client(settings, base_url=batch_api.base_url)
        ...
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from email import policy
from email.parser import BytesParser

import openai

from utils.evals.batch import BATCH_ENDPOINT
from utils.loopback.server import JSONResponse, LoopbackAPI, Request

DONE = ("completed", "failed", "expired", "cancelled")  # a batch in one of these has finished


class BatchInputError(ValueError):
    """The uploaded file is not a valid batch input (the batch fails, as on a real API)."""


def parse_batch_lines(content: bytes, endpoint: str) -> list[dict]:
    """The input file's lines, checked as a Batch API checks them before running any."""
    lines, seen = [], set()
    for number, text in enumerate(content.decode("utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError as error:
            raise BatchInputError(f"line {number} is not JSON: {error}") from None
        if not isinstance(line, dict) or not isinstance(line.get("body"), dict):
            raise BatchInputError(f"line {number} needs a JSON object with a 'body' object")
        custom_id = line.get("custom_id")
        if not custom_id or custom_id in seen:
            raise BatchInputError(f"line {number}: custom_id {custom_id!r} is missing or repeated")
        if line.get("method") != "POST" or line.get("url") != endpoint:
            raise BatchInputError(f"line {number} must have method POST and url {endpoint!r}")
        seen.add(custom_id)
        lines.append(line)
    if not lines:
        raise BatchInputError("the file has no requests")
    return lines


class LocalBatchAPI(LoopbackAPI):
    """Files and batches endpoints on 127.0.0.1; lines run on ``upstream_base_url``."""

    def __init__(self, upstream_base_url: str, api_key: str = "local", concurrency: int = 4):
        self.upstream = openai.OpenAI(base_url=upstream_base_url, api_key=api_key, max_retries=2)
        self.concurrency = concurrency
        self.files: dict[str, dict] = {}  # id → {"object": file metadata, "content": bytes}
        self.batches: dict[str, dict] = {}
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()
        super().__init__()

    def respond(self, request: Request) -> JSONResponse:
        parts = request.path.split("?")[0].strip("/").split("/")[1:]  # drop the "v1"
        try:
            status, payload = self._route(request.method, parts, request.raw, request.headers)
        except (KeyError, ValueError) as error:
            status, payload = 400, {"error": {"message": str(error), "type": "invalid_request_error"}}
        return JSONResponse(status, payload)

    def _route(self, method: str, parts: list[str], body: bytes, headers) -> tuple[int, object]:
        with self._lock:
            if method == "POST" and parts == ["files"]:
                return 200, self._upload(body, headers.get("content-type", ""))
            if method == "GET" and len(parts) == 2 and parts[0] == "files":
                return self._found(self.files, parts[1], lambda f: f["object"])
            if method == "GET" and len(parts) == 3 and parts[0] == "files" and parts[2] == "content":
                return self._found(self.files, parts[1], lambda f: f["content"])
            if method == "POST" and parts == ["batches"]:
                return 200, self._create(json.loads(body or b"{}"))
            if method == "GET" and len(parts) == 2 and parts[0] == "batches":
                return self._found(self.batches, parts[1], copy.deepcopy)
            if method == "POST" and len(parts) == 3 and parts[0] == "batches" and parts[2] == "cancel":
                self._cancelled.add(parts[1])
                return self._found(self.batches, parts[1], copy.deepcopy)
        return 404, {"error": {"message": f"no route {method} /v1/{'/'.join(parts)}",
                               "type": "invalid_request_error"}}  # fmt: skip

    @staticmethod
    def _found(table: dict, key: str, view) -> tuple[int, object]:
        if key not in table:
            return 404, {"error": {"message": f"no such object: {key}", "type": "not_found"}}
        return 200, view(table[key])

    # --- files and batches -------------------------------------------------------------

    def _upload(self, body: bytes, content_type: str) -> dict:
        """Store a multipart upload (fields ``file`` and ``purpose``) as a file object."""
        message = BytesParser(policy=policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + body
        )
        fields = {
            part.get_param("name", header="content-disposition"): part
            for part in message.iter_parts()
        }
        if "file" not in fields:
            raise ValueError("upload a file: multipart field 'file' is missing")
        purpose = fields["purpose"].get_content().strip() if "purpose" in fields else "batch"
        return self._store(fields["file"].get_payload(decode=True),
                           fields["file"].get_filename() or "upload.jsonl", purpose)  # fmt: skip

    def _store(self, content: bytes, filename: str, purpose: str) -> dict:
        file_id = f"file-local-{secrets.token_hex(8)}"
        meta = {"id": file_id, "object": "file", "bytes": len(content), "created_at": int(time.time()),
                "filename": filename, "purpose": purpose, "status": "processed"}  # fmt: skip
        self.files[file_id] = {"object": meta, "content": content}
        return meta

    def _create(self, request: dict) -> dict:
        input_file_id, endpoint = request["input_file_id"], request.get("endpoint", BATCH_ENDPOINT)
        if input_file_id not in self.files:
            raise ValueError(f"no uploaded file {input_file_id!r}")
        if endpoint != BATCH_ENDPOINT:
            raise ValueError(f"this Batch API serves {BATCH_ENDPOINT!r} only, not {endpoint!r}")
        now = int(time.time())
        batch = {
            "id": f"batch_local_{secrets.token_hex(8)}", "object": "batch", "endpoint": endpoint,
            "errors": None, "input_file_id": input_file_id,
            "completion_window": request.get("completion_window", "24h"), "status": "validating",
            "output_file_id": None, "error_file_id": None, "created_at": now,
            "in_progress_at": None, "expires_at": now + 24 * 3600, "finalizing_at": None,
            "completed_at": None, "failed_at": None, "expired_at": None, "cancelling_at": None,
            "cancelled_at": None, "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": request.get("metadata"),
        }  # fmt: skip
        self.batches[batch["id"]] = batch
        threading.Thread(target=self._process, args=(batch["id"],), daemon=True).start()
        return copy.deepcopy(batch)

    def _process(self, batch_id: str) -> None:
        """Run every line on the upstream server; then write the output and error files."""
        batch = self.batches[batch_id]
        try:
            lines = parse_batch_lines(self.files[batch["input_file_id"]]["content"], batch["endpoint"])
        except BatchInputError as error:
            with self._lock:
                batch.update(status="failed", failed_at=int(time.time()), errors={
                    "object": "list", "data": [{"code": "invalid_input", "message": str(error)}]})  # fmt: skip
            return
        with self._lock:
            batch.update(status="in_progress", in_progress_at=int(time.time()))
            batch["request_counts"]["total"] = len(lines)
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:  # rows in the order they
            futures = [pool.submit(self._run_line, batch_id, line) for line in lines]  # finish,
            results = [future.result() for future in as_completed(futures)]  # as on a real API
        output = [row for ok, row in results if ok]
        errors = [row for ok, row in results if not ok and row is not None]
        with self._lock:
            batch.update(status="finalizing", finalizing_at=int(time.time()))
            if output:
                batch["output_file_id"] = self._store(_jsonl(output), f"{batch_id}_output.jsonl",
                                                      "batch_output")["id"]  # fmt: skip
            if errors:
                batch["error_file_id"] = self._store(_jsonl(errors), f"{batch_id}_error.jsonl",
                                                     "batch_output")["id"]  # fmt: skip
            now = int(time.time())
            if batch_id in self._cancelled:
                batch.update(status="cancelled", cancelled_at=now)
            else:
                batch.update(status="completed", completed_at=now)

    def _run_line(self, batch_id: str, line: dict) -> tuple[bool, dict | None]:
        """``(True, output row)`` or ``(False, error row)``; ``(False, None)`` once cancelled."""
        if batch_id in self._cancelled:
            return False, None
        row = {"id": f"batch_req_{secrets.token_hex(8)}", "custom_id": line["custom_id"]}
        try:
            response = self.upstream.chat.completions.create(**line["body"])
        except openai.APIStatusError as error:
            body = error.body if isinstance(error.body, dict) else {"message": str(error)}
            row.update(response={"status_code": error.status_code, "body": {"error": body}},
                       error={"code": type(error).__name__, "message": str(error)})  # fmt: skip
            ok = False
        except (openai.APIError, TypeError) as error:  # unreachable server, unknown argument, ...
            row.update(response=None, error={"code": type(error).__name__, "message": str(error)})
            ok = False
        else:
            row.update(response={"status_code": 200, "request_id": response.id,
                                 "body": response.model_dump(mode="json")}, error=None)  # fmt: skip
            ok = True
        with self._lock:
            self.batches[batch_id]["request_counts"]["completed" if ok else "failed"] += 1
        return ok, row

    def close(self) -> None:
        """Stop serving, free the port and close the upstream client."""
        super().close()
        self.upstream.close()


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
