"""The stand-ins checked against the providers' official Python clients.

`iyzipay` computes the real IYZWSv2 header and verifies answers with its own signature code;
`stripe` creates and retrieves sessions and refunds against the Stripe stand-in, and verifies
the stand-in's webhook signatures with `stripe.Webhook.construct_event`.
Run by official_clients.rs with the stand-ins' addresses and keys in the environment.
"""
import http.client
import json
import os
import sys
import time
import types
import urllib.request


def post_form(url, data):
    request = urllib.request.Request(url, data=data.encode(), method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    return urllib.request.urlopen(request).read()


def iyzico_check():
    import iyzipay

    host = os.environ["IYZICO_HOST"]
    secret = os.environ["IYZICO_SECRET_KEY"]
    options = {"api_key": os.environ["IYZICO_API_KEY"], "secret_key": secret, "base_url": host}

    def plain(resource):
        # The client opens HTTPS connections; the stand-in speaks plain HTTP on localhost.
        # Everything else — the IYZWSv2 header, the body, the parsing — is the client's own.
        resource.httplib = types.SimpleNamespace(HTTPSConnection=http.client.HTTPConnection)
        return resource

    address = {"contactName": "Jane Doe", "city": "Istanbul", "country": "Turkey",
               "address": "Nidakule Göztepe", "zipCode": "34732"}
    request = {
        "locale": "tr", "conversationId": "conv-123", "price": "149.9", "paidPrice": "149.9",
        "currency": "TRY", "basketId": "B67832", "paymentGroup": "PRODUCT",
        "callbackUrl": "https://www.merchant.com/callback", "enabledInstallments": ["2", "3"],
        "buyer": {"id": "BY789", "name": "John", "surname": "Doe", "email": "email@email.com",
                  "identityNumber": "74300864791", "registrationAddress": "Nidakule Göztepe",
                  "ip": "85.34.78.112", "city": "Istanbul", "country": "Turkey"},
        "shippingAddress": address, "billingAddress": address,
        "basketItems": [{"id": "BI101", "name": "Credits", "category1": "Credits",
                         "itemType": "VIRTUAL", "price": "149.9"}],
    }
    initialize = plain(iyzipay.CheckoutFormInitialize())
    form = json.load(initialize.create(request, options))
    assert form["status"] == "success", form
    expected = initialize.calculate_hmac_sha256_signature(
        [form["conversationId"], form["token"]], secret)
    assert expected == form["signature"], (expected, form)

    retrieve = plain(iyzipay.CheckoutForm())
    query = {"locale": "tr", "conversationId": "conv-123", "token": form["token"]}
    unpaid = json.load(retrieve.retrieve(query, options))
    assert unpaid["status"] == "failure", unpaid

    post_form(form["paymentPageUrl"], "choice=pay")
    result = json.load(retrieve.retrieve(query, options))
    assert result["status"] == "success" and result["paymentStatus"] == "SUCCESS", result
    fields = [result["paymentStatus"], result["paymentId"], result["currency"],
              result["basketId"], result["conversationId"],
              retrieve.strip_zero(str(result["paidPrice"])),
              retrieve.strip_zero(str(result["price"])), result["token"]]
    expected = retrieve.calculate_hmac_sha256_signature(fields, secret)
    assert expected == result["signature"], (fields, result)
    assert result["paidPrice"] == 149.9, result

    refund_v2 = json.load(plain(iyzipay.Payment()).refund(
        {"locale": "tr", "conversationId": "conv-123", "paymentId": result["paymentId"],
         "price": "50.0", "ip": "85.34.78.112"}, options))
    assert refund_v2["status"] == "success", refund_v2
    transaction = result["itemTransactions"][0]["paymentTransactionId"]
    refund_v1 = json.load(plain(iyzipay.Refund()).create(
        {"locale": "tr", "conversationId": "conv-123", "paymentTransactionId": transaction,
         "price": "10", "currency": "TRY", "ip": "85.34.78.112"}, options))
    assert refund_v1["status"] == "success", refund_v1
    # The reporting read reelgate uses to learn refunds made anywhere (a GET, signed by the
    # client over its path and the body it sends).
    details = json.load(plain(iyzipay.RetrievePaymentDetails()).retrieve(
        {"paymentId": str(result["paymentId"]), "paymentConversationId": "conv-123"}, options))
    assert details["status"] == "success", details
    payment = details["payments"][0]
    assert payment["paymentConversationId"] == "conv-123", details
    assert payment["paymentRefundStatus"] == "PARTIALLY_REFUNDED", details
    refunded = sum(r["refundPrice"] for item in payment["itemTransactions"]
                   for r in item["refunds"])
    assert refunded == 60, details
    too_much = json.load(plain(iyzipay.Payment()).refund(
        {"locale": "tr", "conversationId": "conv-123", "paymentId": result["paymentId"],
         "price": "100", "ip": "85.34.78.112"}, options))
    assert too_much["status"] == "failure", too_much

    forged = dict(options, secret_key="not-the-secret")
    refused = json.load(plain(iyzipay.CheckoutFormInitialize()).create(request, forged))
    assert refused["status"] == "failure" and refused["errorCode"] == "1000", refused
    print("iyzipay: ok")


def stripe_check():
    import stripe

    base = os.environ["STRIPE_BASE"]
    webhook_secret = os.environ["STRIPE_WEBHOOK_SECRET"]
    stripe.api_key = os.environ["STRIPE_SECRET_KEY"]
    stripe.api_base = base
    stripe.max_network_retries = 0

    session = stripe.checkout.Session.create(
        mode="payment", success_url=base + "/_sim/events", client_reference_id="pay_python",
        metadata={"reelgate_payment": "pay_python"},
        line_items=[{"price_data": {"currency": "try", "unit_amount": 14990,
                                    "product_data": {"name": "Starter"}}, "quantity": 1}])
    assert session.amount_total == 14990 and session.status == "open", session
    post_form(session.url, "choice=pay")
    paid = stripe.checkout.Session.retrieve(session.id, expand=["payment_intent.latest_charge"])
    assert paid.payment_status == "paid", paid
    assert paid.payment_intent.latest_charge.amount == 14990, paid
    intent = paid.payment_intent.id
    listed = stripe.checkout.Session.list(payment_intent=intent)
    assert [s.id for s in listed.data] == [session.id], listed
    refund = stripe.Refund.create(payment_intent=intent, amount=7495)
    assert refund.amount == 7495 and refund.status == "succeeded", refund
    try:
        stripe.Refund.create(payment_intent=intent, amount=10000)
        raise AssertionError("refunded more than was paid")
    except stripe.InvalidRequestError:
        pass

    events = json.load(urllib.request.urlopen(base + "/_sim/events"))["data"]
    kinds = [e["type"] for e in events]
    assert kinds == ["checkout.session.completed", "refund.created", "charge.refunded"], kinds
    for listed_event in events:
        signed = json.load(urllib.request.urlopen(base + f"/_sim/events/{listed_event['id']}/signed"))
        event = stripe.Webhook.construct_event(signed["payload"], signed["header"], webhook_secret)
        assert event.id == listed_event["id"] and event.type == listed_event["type"], event
        if event.type == "checkout.session.completed":
            assert event.data.object.client_reference_id == "pay_python", event

    first = base + f"/_sim/events/{events[0]['id']}/signed"
    fresh = json.load(urllib.request.urlopen(first))
    stale = json.load(urllib.request.urlopen(first + f"?timestamp={int(time.time()) - 600}"))
    for payload, header, secret in [(stale["payload"], stale["header"], webhook_secret),
                                    (fresh["payload"], fresh["header"], "whsec_wrong"),
                                    (fresh["payload"] + " ", fresh["header"], webhook_secret)]:
        try:
            stripe.Webhook.construct_event(payload, header, secret)
            raise AssertionError("a bad signature verified")
        except stripe.SignatureVerificationError:
            pass

    stripe.api_key = "sk_test_wrong"
    try:
        stripe.checkout.Session.retrieve(session.id)
        raise AssertionError("a wrong key was accepted")
    except stripe.AuthenticationError:
        pass
    print("stripe: ok")


if __name__ == "__main__":
    {"iyzico": iyzico_check, "stripe": stripe_check}[sys.argv[1]]()
