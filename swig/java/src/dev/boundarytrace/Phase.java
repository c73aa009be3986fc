package dev.boundarytrace;

/**
 * A phase entered on a tracer, ended by {@link #close()}: use it in
 * try-with-resources.
 *
 * <pre>{@code
 * try (Phase p = tracer.phase(Phase.EXTRACT)) {
 *   readArguments();
 * }
 * }</pre>
 *
 * <p>The static members are the process-wide phase table: the four built-in ids
 * and the phases registered by name.
 */
public final class Phase implements AutoCloseable {
  /** Read interpreter objects into a native form; GIL held. */
  public static final int EXTRACT = BtNativeConstants.BT_PHASE_EXTRACT;
  /** Encode the native form; GIL released. */
  public static final int CONVERT = BtNativeConstants.BT_PHASE_CONVERT;
  /** I/O with a server; GIL released. */
  public static final int NETWORK = BtNativeConstants.BT_PHASE_NETWORK;
  /** Build interpreter objects from the results; GIL held. */
  public static final int MATERIALIZE = BtNativeConstants.BT_PHASE_MATERIALIZE;
  /** Pseudo-phase for snapshot queries: the whole operation. */
  public static final int TOTAL = BtNativeConstants.BT_PHASE_TOTAL;
  /**
   * Pseudo-phase for snapshot queries: the wait to get the GIL back, one sample
   * per operation that released it (its entries are the releases).
   */
  public static final int GIL_WAIT = BtNativeConstants.BT_PHASE_GIL_WAIT;
  /** Phases the table holds, the built-in ones included. */
  public static final int MAX_PHASES = BtNativeConstants.BT_MAX_PHASES;

  private final Tracer tracer;
  private final int id;
  private boolean ended;

  Phase(Tracer tracer, int id) {
    this.tracer = tracer;
    this.id = id;
  }

  /** The phase id. */
  public int id() {
    return id;
  }

  /** The phase name. */
  public String name() {
    return name(id);
  }

  /**
   * Ends the phase (bt_phase_end). A second close does nothing.
   *
   * @throws IllegalStateException BT_E_PHASE_NOT_OPEN when another phase is open now,
   *     BT_E_FINISHED when the tracer finished meanwhile, or when it was closed
   */
  @Override
  public void close() {
    if (ended) return;
    ended = true;
    tracer.end(id);
  }

  /**
   * Registers a phase, or finds it when the name is already registered with the
   * same GIL state. The id is stable for the life of the process.
   *
   * @throws IllegalArgumentException BT_E_NAME (bad name), BT_E_CONFLICT (registered
   *     with the other GIL state)
   * @throws IllegalStateException BT_E_FULL (the table is full)
   */
  public static int register(String name, boolean gilHeld) {
    int[] out = new int[1];
    BtNative.bt_phase_register(out, name, gilHeld ? 1 : 0);
    return out[0];
  }

  /**
   * The id of a registered phase.
   *
   * @throws IllegalArgumentException BT_E_NOT_FOUND, BT_E_NAME
   */
  public static int lookup(String name) {
    int[] out = new int[1];
    BtNative.bt_phase_lookup(out, name);
    return out[0];
  }

  /**
   * The name of phase {@code id}.
   *
   * @throws IllegalArgumentException BT_E_UNKNOWN_PHASE
   */
  public static String name(int id) {
    String[] name = new String[1];
    int[] held = new int[1];
    BtNative.bt_phase_get_info(name, held, id);
    return name[0];
  }

  /**
   * Whether the GIL is held during phase {@code id}.
   *
   * @throws IllegalArgumentException BT_E_UNKNOWN_PHASE
   */
  public static boolean isGilHeld(int id) {
    String[] name = new String[1];
    int[] held = new int[1];
    BtNative.bt_phase_get_info(name, held, id);
    return held[0] != 0;
  }

  /** Registered phases; ids run 0 .. count()-1. */
  public static int count() {
    return (int) BtNative.bt_phase_count();
  }
}
