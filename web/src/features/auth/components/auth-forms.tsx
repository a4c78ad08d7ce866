import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useLocation, useNavigate } from "react-router-dom";

import { Button } from "@/components/ui/button";
import { Field, Input } from "@/components/ui/form";
import { isApiError } from "@/lib/api";

import { login, register } from "../api/session";
import { AuthLayout } from "./auth-layout";

function FormError({ error }: { error: unknown }) {
  if (!error) return null;
  const message = isApiError(error) ? error.message : "Something went wrong. Please try again.";
  return (
    <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700 ring-1 ring-inset ring-red-200">
      {message}
    </p>
  );
}

function useAfterSignIn() {
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from;
  return () => navigate(from && from !== "/login" ? from : "/", { replace: true });
}

export function LoginPage() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const done = useAfterSignIn();
  const mutation = useMutation({ mutationFn: () => login(email.trim(), password), onSuccess: done, meta: { silent: true } });

  function submit(event: FormEvent) {
    event.preventDefault();
    mutation.mutate();
  }

  return (
    <AuthLayout
      title="Sign in to Morket"
      subtitle="Welcome back. Your tables are where you left them."
      footer={
        <>
          New here?{" "}
          <Link to="/signup" className="font-medium text-indigo-600 hover:text-indigo-500">
            Create an account
          </Link>
        </>
      }
    >
      <form onSubmit={submit} className="space-y-4" noValidate>
        <FormError error={mutation.error} />
        <Field label="Email">
          {({ id }) => <Input id={id} type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />}
        </Field>
        <Field label="Password">
          {({ id }) => (
            <Input id={id} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
          )}
        </Field>
        <Button type="submit" variant="primary" className="w-full" busy={mutation.isPending}>
          Sign in
        </Button>
      </form>
    </AuthLayout>
  );
}

export function SignupPage() {
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const done = useAfterSignIn();
  const mutation = useMutation({
    mutationFn: () => register(email.trim(), password, name.trim() || null),
    onSuccess: done,
    meta: { silent: true },
  });
  const fields = isApiError(mutation.error) ? mutation.error.fieldErrors() : {};
  const [tried, setTried] = useState(false);
  const tooShort = tried && password.length < 8;

  function submit(event: FormEvent) {
    event.preventDefault();
    setTried(true);
    if (password.length >= 8) mutation.mutate();
  }

  return (
    <AuthLayout
      title="Create your account"
      subtitle="Build lists, enrich them from many providers, pay only for what you find."
      footer={
        <>
          Already have an account?{" "}
          <Link to="/login" className="font-medium text-indigo-600 hover:text-indigo-500">
            Sign in
          </Link>
        </>
      }
    >
      <form onSubmit={submit} className="space-y-4" noValidate>
        <FormError error={Object.keys(fields).length ? null : mutation.error} />
        <Field label="Name" hint="Optional. Shown to your teammates." error={fields.name}>
          {({ id, describedBy }) => <Input id={id} autoComplete="name" aria-describedby={describedBy} value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label="Work email" error={fields.email}>
          {({ id, describedBy, invalid }) => (
            <Input id={id} type="email" autoComplete="email" required aria-invalid={invalid} aria-describedby={describedBy} value={email} onChange={(e) => setEmail(e.target.value)} />
          )}
        </Field>
        <Field label="Password" hint="At least 8 characters." error={tooShort ? "Use at least 8 characters." : fields.password}>
          {({ id, describedBy, invalid }) => (
            <Input
              id={id}
              type="password"
              autoComplete="new-password"
              required
              aria-invalid={invalid}
              aria-describedby={describedBy}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        <Button type="submit" variant="primary" className="w-full" busy={mutation.isPending}>
          Create account
        </Button>
      </form>
    </AuthLayout>
  );
}
