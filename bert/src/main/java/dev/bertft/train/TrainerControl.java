package dev.bertft.train;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * HF's TrainerControl: the switches of the loop at this moment. A step clears the three
 * per-step switches, sets the ones due, and each clears again once done (log, evaluation,
 * save), so a checkpoint's trainer_state.json records {@code should_save} true and the rest as
 * the step left them; {@code should_training_stop} stays set once the run decided to end.
 */
final class TrainerControl {
    boolean shouldTrainingStop, shouldEpochStop, shouldSave, shouldEvaluate, shouldLog;

    void newStep() {
        shouldSave = false;
        shouldEvaluate = false;
        shouldLog = false;
    }

    /** The stateful_callbacks entry: the switches as its args, no attributes. */
    ObjectNode toJson() {
        ObjectNode o = TrainerState.JSON.createObjectNode();
        ObjectNode args = o.putObject("args");
        args.put("should_epoch_stop", shouldEpochStop);
        args.put("should_evaluate", shouldEvaluate);
        args.put("should_log", shouldLog);
        args.put("should_save", shouldSave);
        args.put("should_training_stop", shouldTrainingStop);
        o.putObject("attributes");
        return o;
    }
}
